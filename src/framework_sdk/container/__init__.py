"""The container toolkit: what runs inside a framework image, and a library for framework authors.

The public API (see ``doc/frameworks.md``), each piece usable alone:

- :class:`Environment` (:mod:`~framework_sdk.container.environment`): the training job as one value,
  read from the ``/opt/ml`` tree; subclass it to add a framework's own derived attributes;
- :mod:`~framework_sdk.container.modules`: :func:`fetch`, :func:`install`, :func:`import_module`,
  :func:`run` the user's code (:class:`UserScriptError` carries the exit code and stderr tail);
- :func:`call` (:mod:`~framework_sdk.container.functions`): call a framework-mode function with the
  arguments its signature names;
- :mod:`~framework_sdk.container.runner`: ``python -m framework_sdk.container.runner PACKAGE.MODULE``;
- frameworks register by entry points (:mod:`~framework_sdk.container.frameworks`).

Names resolve on first use, so importing this package imports nothing else.
"""

_PUBLIC = {
    "Environment": "environment",
    "ConfigurationError": "errors",
    "ToolkitError": "errors",
    "UserCodeError": "modules",
    "UserScriptError": "modules",
    "fetch": "modules",
    "install": "modules",
    "import_module": "modules",
    "run": "modules",
    "call": "functions",
    "run_start_module": "runner",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)


def __dir__():
    return __all__
