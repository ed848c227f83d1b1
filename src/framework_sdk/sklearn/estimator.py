"""The :class:`SKLearn` estimator: script mode for scikit-learn (SageMaker v2's names and defaults)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..estimator import Framework
from .model import SKLearnModel, SKLearnPredictor

if TYPE_CHECKING:
    from ..model import FrameworkModel


class SKLearn(Framework):
    """``SKLearn(entry_point, framework_version="1.9.1", py_version="py3", source_dir=None, hyperparameters=None,
    instance_type=..., instance_count=1, ...)``: scikit-learn trains on one host (as on SageMaker)."""

    _framework_name = "sklearn"
    predictor_cls = SKLearnPredictor
    model_cls = SKLearnModel

    def __init__(self, entry_point: str, framework_version: str | None = None, py_version: str = "py3",
                 source_dir: str | None = None, hyperparameters: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("instance_count", 1)  # scikit-learn trains on one host
        super().__init__(entry_point, source_dir=source_dir, hyperparameters=hyperparameters,
                         framework_version=framework_version, py_version=py_version, **kwargs)

    # SageMaker v2's argument order (model_server_workers first) differs from Framework.create_model's
    def create_model(self, model_server_workers: int | None = None,  # type: ignore[override]
                     role: str | None = None, entry_point: str | None = None, source_dir: str | None = None,
                     dependencies: Sequence[str] | None = None, **kwargs: Any) -> FrameworkModel:
        """An :class:`SKLearnModel` of the latest job (SageMaker v2's argument order: ``model_server_workers`` first)."""
        if model_server_workers is not None:
            kwargs["model_server_workers"] = model_server_workers
        return super().create_model(role=role, entry_point=entry_point, source_dir=source_dir,
                                    dependencies=dependencies, **kwargs)
