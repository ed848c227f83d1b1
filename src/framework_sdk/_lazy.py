"""Lazy public names for a package: attributes imported from submodules on first use."""
import importlib
import sys


def lazy_names(package, public):
    """``(__getattr__, __dir__)`` for ``package`` whose names ``public`` maps to submodules."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name):
        module = public.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
