"""Chainer on framework-sdk: the :class:`Chainer` estimator, :class:`ChainerModel` and :class:`ChainerPredictor`.

Names resolve lazily, so importing this package stays as cheap as ``import framework_sdk``.
"""
import importlib

_PUBLIC = {"Chainer": "estimator", "ChainerModel": "model", "ChainerPredictor": "model"}
__all__ = sorted(_PUBLIC)


def __getattr__(name):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'framework_sdk.chainer' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
