"""Chainer on framework-sdk: the :class:`Chainer` estimator, :class:`ChainerModel`, :class:`ChainerPredictor` and
:class:`ChainerProcessor`.

Names resolve lazily, so importing this package stays as cheap as ``import framework_sdk``.
"""
from .._lazy import lazy_names

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:  # type checkers see the names; at run time they resolve lazily from _PUBLIC
    from .estimator import Chainer as Chainer
    from .model import ChainerModel as ChainerModel, ChainerPredictor as ChainerPredictor
    from .processing import ChainerProcessor as ChainerProcessor

_PUBLIC = {"Chainer": "estimator", "ChainerModel": "model", "ChainerPredictor": "model",
           "ChainerProcessor": "processing"}
__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)
