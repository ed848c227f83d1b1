"""scikit-learn on framework-sdk: :class:`SKLearn`, :class:`SKLearnModel` and :class:`SKLearnPredictor`.

Names resolve lazily, so importing this package stays as cheap as ``import framework_sdk``.
"""
from .._lazy import lazy_names

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:  # type checkers see the names; at run time they resolve lazily from _PUBLIC
    from .estimator import SKLearn as SKLearn
    from .model import SKLearnModel as SKLearnModel, SKLearnPredictor as SKLearnPredictor

_PUBLIC = {"SKLearn": "estimator", "SKLearnModel": "model", "SKLearnPredictor": "model"}
__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)
