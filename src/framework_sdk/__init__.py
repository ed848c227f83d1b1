"""framework-sdk: train and serve framework scripts on AWS SageMaker or locally.

Public names are imported lazily, so ``import framework_sdk`` stays cheap and pulls in
none of boto3, botocore, docker, numpy or requests.
"""
from ._lazy import lazy_names

__version__ = "0.1.0"

_PUBLIC = {
    "Session": "session",
    "LocalSession": "local",
    "EstimatorBase": "estimator",
    "Estimator": "estimator",
    "Framework": "estimator",
    "TrainingInput": "inputs",
    "Model": "model",
    "FrameworkModel": "model",
    "Predictor": "predictor",
    "Transformer": "transformer",
    "CodecError": "codecs",
    "AlgorithmEstimator": "algorithm",
    "ModelPackage": "algorithm",
    "MetricsCollector": "metrics",
    "AWSError": "exceptions",
    "ConfigurationError": "exceptions",
    "UnexpectedStatusException": "exceptions",
    "NumpySerializer": "serializers",
    "CSVSerializer": "serializers",
    "JSONSerializer": "serializers",
    "JSONLinesSerializer": "serializers",
    "IdentitySerializer": "serializers",
    "NumpyDeserializer": "serializers",
    "JSONDeserializer": "serializers",
    "CSVDeserializer": "serializers",
    "BytesDeserializer": "serializers",
    "StringDeserializer": "serializers",
    "StreamDeserializer": "serializers",
    "JSONLinesDeserializer": "serializers",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)
