"""Serving scikit-learn models: :class:`SKLearnModel` and :class:`SKLearnPredictor` (NPY both ways by default)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import FrameworkModel
from ..predictor import Predictor
from ..serializers import NumpyDeserializer, NumpySerializer

if TYPE_CHECKING:
    from ..serializers import BaseDeserializer, BaseSerializer
    from ..session import Session


class SKLearnPredictor(Predictor):
    """A :class:`~framework_sdk.Predictor` that sends and receives NPY arrays unless told otherwise."""

    def __init__(self, endpoint_name: str, sagemaker_session: Session | None = None,
                 serializer: BaseSerializer | None = None, deserializer: BaseDeserializer | None = None,
                 **kwargs: Any) -> None:
        super().__init__(endpoint_name, sagemaker_session,
                         serializer if serializer is not None else NumpySerializer(),
                         deserializer if deserializer is not None else NumpyDeserializer(), **kwargs)


class SKLearnModel(FrameworkModel):
    """A trained scikit-learn ``model.tar.gz`` plus the inference script.

    ``SKLearnModel(model_data, role, entry_point, framework_version="1.9.1", py_version="py3")``: without a
    ``model_fn`` in the script, the image loads ``model.joblib``; ``model_server_workers`` sets
    ``SAGEMAKER_MODEL_SERVER_WORKERS``.
    """

    _framework_name = "sklearn"
    predictor_cls = SKLearnPredictor

    def __init__(self, model_data: str | None, role: str | None = None, entry_point: str | None = None,
                 framework_version: str | None = None, py_version: str = "py3", image_uri: str | None = None,
                 predictor_cls: type[Predictor] | None = SKLearnPredictor, model_server_workers: int | None = None,
                 **kwargs: Any) -> None:
        self.model_server_workers = model_server_workers
        super().__init__(model_data, image_uri, role, entry_point, predictor_cls=predictor_cls,
                         framework_version=framework_version, py_version=py_version, **kwargs)

    def _framework_env(self) -> dict[str, str]:
        if self.model_server_workers is None:
            return {}
        return {"SAGEMAKER_MODEL_SERVER_WORKERS": str(int(self.model_server_workers))}
