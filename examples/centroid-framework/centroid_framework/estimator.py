"""The client half: an estimator and a model built on framework-sdk's Framework classes."""
from framework_sdk.estimator import Framework
from framework_sdk.model import FrameworkModel
from framework_sdk.predictor import Predictor
from framework_sdk.serializers import CSVSerializer, JSONDeserializer


class CentroidPredictor(Predictor):
    def __init__(self, endpoint_name, sagemaker_session=None, serializer=None, deserializer=None, **kwargs):
        super().__init__(endpoint_name, sagemaker_session, serializer or CSVSerializer(),
                         deserializer or JSONDeserializer(), **kwargs)


class CentroidModel(FrameworkModel):
    _framework_name = "centroid"
    predictor_cls = CentroidPredictor

    def __init__(self, model_data, role=None, entry_point=None, framework_version="1.0", image_uri=None,
                 predictor_cls=CentroidPredictor, **kwargs):
        super().__init__(model_data, image_uri, role, entry_point, framework_version=framework_version,
                         predictor_cls=predictor_cls, **kwargs)


class Centroid(Framework):
    _framework_name = "centroid"
    predictor_cls = CentroidPredictor
    model_cls = CentroidModel

    def __init__(self, entry_point, framework_version="1.0", **kwargs):
        super().__init__(entry_point, framework_version=framework_version, **kwargs)
