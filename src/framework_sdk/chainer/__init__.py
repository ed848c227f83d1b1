"""Chainer on framework-sdk: the :class:`Chainer` estimator, :class:`ChainerModel` and :class:`ChainerPredictor`.

Names resolve lazily, so importing this package stays as cheap as ``import framework_sdk``.
"""
from .._lazy import lazy_names

_PUBLIC = {"Chainer": "estimator", "ChainerModel": "model", "ChainerPredictor": "model"}
__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)
