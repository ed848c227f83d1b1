"""Serving a predictor class: the server builds predictors from a class named by its dotted path.

The class is named by ``FRAMEWORK_SDK_PREDICTOR_CLASS`` or by ``predictor_class`` in the
training hyperparameters saved with the model (``<model_dir>/hyperparameters.json``). A
predictor is built per configuration: ``cls.from_hyperparameters(**configuration)`` when the
class has it, else ``cls(**configuration)`` (plus ``model_dir=`` when its signature takes it),
and asked ``predict_batch(instances)`` (or ``predict(instances)``).

Requests: ``{"instances": [...], "configuration": {...}}`` answered ``{"predictions": [...]}``;
with ``SAGEMAKER_BATCH=true`` (or a JSON Lines body) one instance a line, answered one
prediction a line, configured by ``INFERENCE_CONFIG`` (JSON in the environment). gluonts' serving
shell has the same shape, so its predictor classes serve unchanged.
"""
import inspect
import json
import logging
import pydoc
from collections import OrderedDict

from framework_sdk import codecs, contract
from framework_sdk.container.serving.errors import PREDICT, HTTPError, StartupError, classify

log = logging.getLogger("framework_sdk.serving")
HYPERPARAMETER = "predictor_class"
_CACHE_SIZE = 8


def class_path_from_model(model_dir):
    """``predictor_class`` from ``<model_dir>/hyperparameters.json`` (values may be JSON-encoded), or ``None``."""
    path = model_dir / contract.HYPERPARAMETERS_FILE
    if not path.is_file():
        return None
    try:
        hyperparameters = json.loads(path.read_text())
    except ValueError as error:
        raise StartupError(f"{path} is not valid JSON: {error}") from None
    value = hyperparameters.get(HYPERPARAMETER) if isinstance(hyperparameters, dict) else None
    if isinstance(value, str):
        try:
            decoded = json.loads(value)  # SageMaker framework estimators JSON-encode every value
            value = decoded if isinstance(decoded, str) else value
        except ValueError:
            pass
    return value or None


def locate(class_path):
    """The class at a full dotted path; :class:`StartupError` naming the path when there is none."""
    try:
        found = pydoc.locate(class_path)
    except pydoc.ErrorDuringImport as error:
        raise StartupError(f"predictor class {class_path!r}: importing it failed: {error.value}") from None
    if not isinstance(found, type):
        raise StartupError(f"predictor class {class_path!r} not found: give a full dotted path such as "
                           "'my_package.module.MyPredictor' importable in this environment "
                           "(FRAMEWORK_SDK_PREDICTOR_CLASS or the predictor_class hyperparameter)")
    return found


class PredictorClassService:
    """Builds (and caches) predictors per configuration and answers ``/invocations`` with them."""

    wants_context = False

    def __init__(self, class_path, config):
        self.cls = locate(class_path)
        self.config = config
        self.model_dir = str(config.model_dir)
        self.defaults = dict(config.inference_config)
        self.cache = OrderedDict()
        log.info("serving predictor class %s", class_path)
        try:
            self._predictor(self.defaults)  # a class that cannot be built stops start-up
        except HTTPError as error:
            raise StartupError(f"{class_path} cannot be built with INFERENCE_CONFIG={self.defaults}: "
                               f"{error.message}") from None

    def invoke(self, body, content_type, accept, context=None):
        kind = codecs.media_type(content_type)
        if kind == codecs.JSONLINES or (self.config.batch and kind == codecs.JSON):
            instances, configuration, answer = codecs.jsonlines_decode(body), self.defaults, codecs.JSONLINES
        elif kind == codecs.JSON:
            request = codecs.json_decode(body)
            if not isinstance(request, dict) or not isinstance(request.get("instances"), list):
                raise HTTPError(400, 'expected {"instances": [...], "configuration": {...}}')
            configuration = request.get("configuration") or {}
            if not isinstance(configuration, dict):
                raise HTTPError(400, '"configuration" must be a JSON object')
            instances, configuration, answer = request["instances"], {**self.defaults, **configuration}, codecs.JSON
        else:
            raise HTTPError(415, f"{content_type or '(no content type)'}: send application/json "
                                 '({"instances": [...]}) or application/jsonlines')
        predictor = self._predictor(configuration)
        predict = getattr(predictor, "predict_batch", None) or predictor.predict
        try:
            predictions = list(predict(instances))
        except Exception as error:
            status, message, expected = classify(error, PREDICT)
            if not expected:
                log.error("%s.predict failed", self.cls.__name__, exc_info=error)
            raise HTTPError(status, message) from error
        if len(predictions) != len(instances):
            raise HTTPError(500, f"{self.cls.__name__} returned {len(predictions)} predictions for "
                                 f"{len(instances)} instances; it must return one per instance, in order")
        if answer == codecs.JSONLINES:
            return codecs.jsonlines_encode(predictions), answer
        return codecs.json_encode({"predictions": predictions}), answer

    def _predictor(self, configuration):
        key = json.dumps(configuration, sort_keys=True, default=str)
        predictor = self.cache.get(key)
        if predictor is None:
            predictor = self._build(configuration)
            self.cache[key] = predictor
            if len(self.cache) > _CACHE_SIZE:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(key)
        return predictor

    def _build(self, configuration):
        factory = getattr(self.cls, "from_hyperparameters", None) or self.cls
        kwargs = dict(configuration)
        try:
            if "model_dir" in inspect.signature(factory).parameters and "model_dir" not in kwargs:
                kwargs["model_dir"] = self.model_dir
        except (TypeError, ValueError):
            pass
        try:
            predictor = factory(**kwargs)
        except TypeError as error:
            raise HTTPError(400, f"configuration {configuration} does not fit {self.cls.__name__}: {error}") from None
        if not callable(getattr(predictor, "predict_batch", None)) and not callable(getattr(predictor, "predict", None)):
            raise HTTPError(500, f"{self.cls.__name__} has neither predict_batch(instances) nor predict(instances)")
        return predictor
