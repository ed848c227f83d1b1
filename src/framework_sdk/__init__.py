"""framework-sdk: train and serve framework scripts on AWS SageMaker or locally.

Public names are imported lazily, so ``import framework_sdk`` stays cheap and pulls in
none of boto3, botocore, docker, numpy or requests. ``__version__`` is the installed
distribution's version, read from its metadata on first use.
"""
from ._lazy import lazy_names

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:  # type checkers see the names; at run time they resolve lazily from _PUBLIC
    from .algorithm import AlgorithmEstimator as AlgorithmEstimator, ModelPackage as ModelPackage
    from .codecs import CodecError as CodecError
    from .estimator import Estimator as Estimator, EstimatorBase as EstimatorBase, Framework as Framework
    from .exceptions import (AWSError as AWSError, ConfigurationError as ConfigurationError,
                             UnexpectedStatusException as UnexpectedStatusException)
    from .inputs import TrainingInput as TrainingInput
    from .local import LocalSession as LocalSession
    from .metrics import MetricsCollector as MetricsCollector
    from .model import FrameworkModel as FrameworkModel, Model as Model
    from .predictor import Predictor as Predictor
    from .processing import (FrameworkProcessor as FrameworkProcessor, ProcessingInput as ProcessingInput,
                             ProcessingJob as ProcessingJob, ProcessingOutput as ProcessingOutput,
                             Processor as Processor, ScriptProcessor as ScriptProcessor)
    from .serializers import (BytesDeserializer as BytesDeserializer, CSVDeserializer as CSVDeserializer,
                              CSVSerializer as CSVSerializer, IdentitySerializer as IdentitySerializer,
                              JSONDeserializer as JSONDeserializer, JSONLinesDeserializer as JSONLinesDeserializer,
                              JSONLinesSerializer as JSONLinesSerializer, JSONSerializer as JSONSerializer,
                              NumpyDeserializer as NumpyDeserializer, NumpySerializer as NumpySerializer,
                              StreamDeserializer as StreamDeserializer, StringDeserializer as StringDeserializer)
    from .session import Session as Session
    from .transformer import Transformer as Transformer
    from .tuner import HyperparameterTuner as HyperparameterTuner

    __version__: str

DISTRIBUTION = "framework-sdk"
UNKNOWN_VERSION = "0+unknown"  # imported from a source tree that was never installed: no metadata

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
    "HyperparameterTuner": "tuner",
    "Processor": "processing",
    "ScriptProcessor": "processing",
    "FrameworkProcessor": "processing",
    "ProcessingInput": "processing",
    "ProcessingOutput": "processing",
    "ProcessingJob": "processing",
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


_public_name, __dir__ = lazy_names(__name__, _PUBLIC)


def __getattr__(name: str) -> object:
    if name == "__version__":
        globals()["__version__"] = version = _installed_version()
        return version
    return _public_name(name)


def _installed_version() -> str:
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN_VERSION
