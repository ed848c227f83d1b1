"""Typed JSON mode: pydantic ``Instance``/``Prediction`` models and a ``Predictor`` with ``predict_batch``.

The user module (the S2agemaker / TIMO pattern) defines::

    class Instance(BaseModel): ...            # one input
    class Prediction(BaseModel): ...          # one output
    class PredictorConfig(BaseSettings): ...  # optional; read from environment variables
    class Predictor:
        def __init__(self, config, artifacts_dir): ...   # both arguments optional
        def predict_batch(self, instances): ...          # list[Instance] -> list[Prediction]

``POST /invocations`` takes ``{"instances": [...]}`` (or JSON Lines, one instance a line, for
batch transform) and answers ``{"predictions": [...]}`` in order; each instance is validated
(422 with the field errors) and ``predict_batch`` sees at most ``batch_size`` of them at once
(the settings' ``batch_size`` field, else ``FRAMEWORK_SDK_BATCH_SIZE``, else 32). FastAPI,
loaded only in this mode, publishes the OpenAPI schema at ``/openapi.json`` with ``/docs`` and
``/redoc`` pages whose assets come from the fastapi-offline package (no CDN needed).
"""
import inspect
import logging
import os
from framework_sdk import codecs, contract
from framework_sdk.container.serving.errors import PREDICT, HTTPError, StartupError, classify

log = logging.getLogger("framework_sdk.serving")
DEFAULT_BATCH_SIZE = 32


def is_typed(module):
    """True when the module defines pydantic ``Instance`` and ``Prediction`` models and a ``Predictor``."""
    if module is None or not all(hasattr(module, name) for name in ("Instance", "Prediction", "Predictor")):
        return False
    from pydantic import BaseModel

    return all(isinstance(getattr(module, name), type) and issubclass(getattr(module, name), BaseModel)
               for name in ("Instance", "Prediction"))


class TypedService:
    """Validates, batches and predicts; ``asgi`` serves the schema and documentation pages."""

    wants_context = False

    def __init__(self, module, config, deadline):
        from pydantic import TypeAdapter, create_model

        self.instance_model, self.prediction_model = module.Instance, module.Prediction
        self.settings = _settings(module)
        self.batch_size = _batch_size(self.settings)
        try:
            self.predictor = _construct(module.Predictor, self.settings, config.model_dir)
        except StartupError:
            raise
        except Exception as error:
            raise StartupError(f"Predictor(...) failed: {type(error).__name__}: {error}") from error
        if not callable(getattr(self.predictor, "predict_batch", None)):
            raise StartupError("Predictor has no predict_batch(instances) method; add one returning one "
                               "Prediction per Instance")
        self.request_model = create_model("InvocationsRequest", instances=(list[self.instance_model], ...))
        self.response_model = create_model("InvocationsResponse", predictions=(list[self.prediction_model], ...))
        self.requests = TypeAdapter(self.request_model)
        self.instances = TypeAdapter(self.instance_model)
        self.predictions = TypeAdapter(list[self.prediction_model])
        self.deadline = deadline
        self.config = config
        self.asgi = self._docs_app(module)

    def invoke(self, body, content_type, accept, context=None):
        kind = codecs.media_type(content_type)
        if kind == codecs.JSON:
            answer = codecs.JSON
            instances = self._validate(lambda: self.requests.validate_json(body).instances, ("body",))
        elif kind == codecs.JSONLINES:
            answer = codecs.JSONLINES
            instances = [self._validate(lambda: self.instances.validate_json(line), ("body", number))  # noqa: B023 (called at once)
                         for number, line in enumerate(_lines(body), 1)]
        else:
            raise HTTPError(415, f"{content_type or '(no content type)'}: typed mode takes application/json "
                                 '({"instances": [...]}) or application/jsonlines (one instance a line)')
        if accept and codecs.negotiate(accept, [answer]) is None:
            raise HTTPError(406, f"typed mode answers {answer} for {kind} requests, not {accept}")
        predictions = self.predict(instances)
        if answer == codecs.JSONLINES:
            return b"".join(self.prediction_model.model_dump_json(p).encode() + b"\n" for p in predictions), answer
        return b'{"predictions":' + self.predictions.dump_json(predictions) + b"}", answer

    def predict(self, instances):
        """``predict_batch`` over slices of ``batch_size``; checks count and type of what comes back."""
        out = []
        for start in range(0, len(instances), self.batch_size):
            chunk = instances[start:start + self.batch_size]
            try:
                result = list(self.predictor.predict_batch(chunk))
            except HTTPError:
                raise
            except Exception as error:
                status, message, expected = classify(error, PREDICT)
                if not expected:
                    log.error("predict_batch failed", exc_info=error)
                raise HTTPError(status, message) from error
            if len(result) != len(chunk):
                raise HTTPError(500, f"predict_batch returned {len(result)} predictions for {len(chunk)} "
                                     "instances; it must return one Prediction per Instance, in order")
            out.extend(result)
        from pydantic import ValidationError

        try:
            return self.predictions.validate_python(out)
        except ValidationError as error:
            raise HTTPError(500, f"predict_batch returned values that are not Prediction: {error}") from None

    def _validate(self, parse, prefix):
        from pydantic import ValidationError

        try:
            return parse()
        except ValidationError as error:
            detail = codecs.json_decode(error.json(include_url=False))
            for item in detail:
                item["loc"] = [*prefix, *item.get("loc", [])]
            fields = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in detail[:5])
            raise HTTPError(422, f"{len(detail)} invalid field(s): {fields}", detail=detail) from None

    def _docs_app(self, module):
        from fastapi_offline import FastAPIOffline

        service = self
        title = (getattr(module, "__doc__", None) or "").strip().splitlines()
        app = FastAPIOffline(title=title[0] if title else "Model server",
                             description="SageMaker-compatible inference endpoint (typed JSON mode).")
        request_model, response_model = self.request_model, self.response_model

        @app.get(contract.PING, summary="200 once the model is loaded")
        async def ping():
            return {}

        @app.get(contract.EXECUTION_PARAMETERS, summary="Batch transform parameters")
        async def execution_parameters():
            return service.config.execution_parameters()

        @app.post(contract.INVOCATIONS, response_model=response_model, summary="Predict a batch of instances")
        async def invocations(request: request_model):
            with service.deadline:
                return {"predictions": service.predict(request.instances)}  # type: ignore[attr-defined]

        return app


def _lines(body):
    return [line for line in bytes(body).split(b"\n") if line.strip()]


def _settings(module):
    """An instance of the module's ``PredictorConfig`` (or other pydantic-settings class), or ``None``."""
    candidates = [getattr(module, "PredictorConfig", None), getattr(module, "Settings", None)]
    try:
        from pydantic_settings import BaseSettings
    except ImportError:  # pragma: no cover - the typed extra installs it
        BaseSettings = None
    if BaseSettings is not None:
        candidates += [value for value in vars(module).values() if isinstance(value, type)
                       and issubclass(value, BaseSettings) and value is not BaseSettings]
    for candidate in candidates:
        if isinstance(candidate, type):
            try:
                return candidate()
            except Exception as error:
                raise StartupError(f"reading {candidate.__name__} from the environment failed: {error}") from error
    return None


def _batch_size(settings):
    value = getattr(settings, "batch_size", None) or os.environ.get("FRAMEWORK_SDK_BATCH_SIZE") or DEFAULT_BATCH_SIZE
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise StartupError(f"batch size {value!r} is not a whole number (FRAMEWORK_SDK_BATCH_SIZE "
                           "or the settings' batch_size)") from None
    if size < 1:
        raise StartupError(f"batch size must be at least 1, got {size}")
    return size


def _construct(cls, settings, model_dir):
    """``Predictor(config=..., artifacts_dir=...)`` passing only the arguments its signature names."""
    parameters = inspect.signature(cls).parameters
    offered = {"config": settings, "settings": settings, "artifacts_dir": str(model_dir),
               "model_dir": str(model_dir)}
    kwargs = {name: value for name, value in offered.items() if name in parameters}
    return cls(**kwargs)
