"""The ASGI app driven directly (no sockets), and the typed JSON and predictor-class services."""
import asyncio
import json
import sys
import time
import types

import pytest

from framework_sdk import codecs
from framework_sdk.container.serving.app import ServingApp
from framework_sdk.container.serving.predictor_class import PredictorClassService, class_path_from_model, locate
from framework_sdk.container.serving.config import ServerConfig
from framework_sdk.container.serving.deadline import Deadline
from framework_sdk.container.serving.errors import HTTPError, StartupError


class EchoService:
    wants_context = False

    def __init__(self, sleep=0.0):
        self.sleep = sleep

    def invoke(self, body, content_type, accept, context):
        if self.sleep:
            time.sleep(self.sleep)
        if content_type == "bad/type":
            raise HTTPError(415, "nope")
        return bytes(body), content_type


def call(app, method, path, body=b"", headers=(), chunks=None):
    """Run one request through the app; returns (status, headers dict, body)."""
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                for i, c in enumerate(chunks)] if chunks else [{"type": "http.request", "body": body}]
    received = []
    sent = []

    async def receive():
        message = messages.pop(0)
        received.append(message)
        return message

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path,
             "headers": [(k.encode(), v.encode()) for k, v in headers]}
    asyncio.run(app(scope, receive, send))
    start, body_message = sent
    return start["status"], dict(start["headers"]), body_message["body"], len(received)


def make_app(service=None, timeout=5.0, **config):
    retired = []
    config = ServerConfig(timeout=timeout, **config)
    app = ServingApp(service or EchoService(), config, Deadline(timeout), 0, on_expired=lambda: retired.append(1))
    return app, retired


def test_routes():
    app, _ = make_app(workers=2)
    assert call(app, "GET", "/ping")[0] == 200
    status, _, body, _ = call(app, "GET", "/execution-parameters")
    assert status == 200 and json.loads(body) == {"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD",
                                                  "MaxPayloadInMB": 6}
    status, headers, body, _ = call(app, "POST", "/invocations", b"abc", [("content-type", "text/plain")])
    assert (status, headers[b"content-type"], body) == (200, b"text/plain", b"abc")
    assert call(app, "GET", "/invocations")[0] == 405
    status, _, body, _ = call(app, "GET", "/models")
    assert status == 404 and b"/ping" in body
    status, headers, body, _ = call(app, "POST", "/invocations", b"x", [("content-type", "bad/type")])
    assert status == 415 and json.loads(body) == {"code": 415, "type": "Unsupported Media Type", "message": "nope"}


def test_declared_oversize_body_is_refused_before_reading():
    app, _ = make_app(max_payload_mb=1)
    status, _, body, reads = call(app, "POST", "/invocations", b"", [("content-length", str(2 << 20))])
    assert status == 413 and reads == 0 and b"SAGEMAKER_MAX_PAYLOAD_IN_MB=1" in body


def test_streamed_body_is_cut_as_soon_as_it_passes_the_limit():
    app, _ = make_app(max_payload_mb=1)
    chunk = b"x" * (400 << 10)
    status, _, _, reads = call(app, "POST", "/invocations", chunks=[chunk] * 5)
    assert status == 413 and reads == 3
    assert call(app, "POST", "/invocations", chunks=[chunk, chunk])[0] == 200


def test_timeout_answers_504_and_retires_the_worker():
    app, retired = make_app(EchoService(sleep=5), timeout=0.2)
    started = time.monotonic()
    status, headers, body, _ = call(app, "POST", "/invocations", b"x", [("content-type", "a/b")])
    assert status == 504 and headers[b"connection"] == b"close" and b"SAGEMAKER_MODEL_SERVER_TIMEOUT" in body
    assert time.monotonic() - started < 2 and retired == [1]
    assert call(app, "GET", "/ping")[0] == 200



def test_deadline_times_each_request_from_its_own_start_without_rearming_per_request(monkeypatch):
    import signal

    from framework_sdk.container.serving.errors import RequestTimeout

    deadline = Deadline(0.25)
    arms = []
    real = signal.setitimer
    monkeypatch.setattr(signal, "setitimer", lambda which, seconds: (arms.append(seconds), real(which, seconds)))
    for _ in range(50):  # quick requests: the first arms the timer, the rest reuse it
        with deadline:
            pass
    assert len(arms) == 1
    time.sleep(0.3)  # the alarm fires between requests and is ignored
    assert not deadline.expired and not deadline.armed
    with deadline:
        time.sleep(0.15)  # arms at t=0; the next request starts 0.15 s into that period
    started = time.monotonic()
    with pytest.raises(RequestTimeout):
        with deadline:
            time.sleep(2)
    elapsed = time.monotonic() - started
    assert 0.24 <= elapsed < 0.4, elapsed  # its full 0.25 s, not what was left of the earlier period
    assert deadline.expired


def test_worker_keeps_request_sized_memory_instead_of_faulting_it_in_again():
    import subprocess

    probe = """
import resource
from framework_sdk.container.serving.worker import keep_request_memory

def faults_per_request():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        bytes(bytearray(300_000))  # a 300 KB body read, joined into one object, then freed
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50

untuned = faults_per_request()
keep_request_memory(6 << 20)
faults_per_request()
print(untuned, faults_per_request())
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    untuned, tuned = map(float, out.split())
    assert untuned > 30 and tuned < 2, (untuned, tuned)  # ~73 page faults per 300 KB by default


# ------------------------------------------------------------------ typed mode


def typed_module():
    from pydantic import BaseModel, Field
    from pydantic_settings import BaseSettings

    mod = types.ModuleType("typed_inference")

    class Instance(BaseModel):
        x: float
        label: str = Field(min_length=1)

    class Prediction(BaseModel):
        y: float
        batch: int

    class PredictorConfig(BaseSettings):
        scale: float = 2.0
        batch_size: int = 2

    class Predictor:
        def __init__(self, config, artifacts_dir):
            self.config, self.artifacts_dir, self.sizes = config, artifacts_dir, []

        def predict_batch(self, instances):
            self.sizes.append(len(instances))
            return [Prediction(y=i.x * self.config.scale, batch=len(instances)) for i in instances]

    mod.Instance, mod.Prediction, mod.PredictorConfig, mod.Predictor = Instance, Prediction, PredictorConfig, Predictor
    return mod


def test_typed_mode_validates_batches_and_answers_in_order(monkeypatch):
    pytest.importorskip("fastapi_offline")
    from framework_sdk.container.serving.typed import TypedService, is_typed

    monkeypatch.setenv("SCALE", "10")
    mod = typed_module()
    assert is_typed(mod)
    service = TypedService(mod, ServerConfig(), Deadline(5))
    instances = [{"x": i, "label": "a"} for i in range(5)]
    payload, kind = service.invoke(json.dumps({"instances": instances}).encode(), codecs.JSON, None)
    assert kind == codecs.JSON
    assert json.loads(payload) == {"predictions": [{"y": 10.0 * i, "batch": 2 if i < 4 else 1} for i in range(5)]}
    assert service.predictor.sizes == [2, 2, 1] and service.predictor.artifacts_dir == "/opt/ml/model"
    with pytest.raises(HTTPError) as caught:
        service.invoke(b'{"instances": [{"x": 1, "label": "a"}, {"x": "one", "label": ""}]}', codecs.JSON, None)
    error = caught.value
    assert error.status_code == 422
    assert [item["loc"] for item in error.detail] == [["body", "instances", 1, "x"], ["body", "instances", 1, "label"]]
    payload, kind = service.invoke(b'{"x": 1, "label": "a"}\n{"x": 2, "label": "b"}\n', codecs.JSONLINES, None)
    assert kind == codecs.JSONLINES and payload.splitlines() == [b'{"y":10.0,"batch":2}', b'{"y":20.0,"batch":2}']
    with pytest.raises(HTTPError) as caught:
        service.invoke(b"1,2", codecs.CSV, None)
    assert caught.value.status_code == 415


# ------------------------------------------------------------------ predictor-class mode


class Scaler:
    """A predictor class: built from a configuration, predicts a batch."""

    def __init__(self, factor=1, model_dir=None):
        self.factor, self.model_dir = factor, model_dir

    def predict(self, instances):
        return [value * self.factor for value in instances]


@pytest.fixture
def scaler_path(monkeypatch):
    mod = types.ModuleType("scaler_predictors")
    mod.Scaler = Scaler
    monkeypatch.setitem(sys.modules, "scaler_predictors", mod)
    return "scaler_predictors.Scaler"


def test_predictor_class_uses_the_request_configuration(scaler_path):
    service = PredictorClassService(scaler_path, ServerConfig(inference_config={"factor": 3}))
    payload, kind = service.invoke(b'{"instances": [1, 2], "configuration": {"factor": 10}}', codecs.JSON, None)
    assert json.loads(payload) == {"predictions": [10, 20]} and kind == codecs.JSON
    assert json.loads(service.invoke(b'{"instances": [1]}', codecs.JSON, None)[0]) == {"predictions": [3]}
    with pytest.raises(HTTPError) as caught:
        service.invoke(b'{"instances": [1], "configuration": {"colour": 1}}', codecs.JSON, None)
    assert caught.value.status_code == 400 and "colour" in caught.value.message


def test_predictor_class_batch_transform_reads_inference_config(scaler_path):
    service = PredictorClassService(scaler_path, ServerConfig(batch=True, inference_config={"factor": 2}))
    payload, kind = service.invoke(b"1\n2\n3\n", codecs.JSONLINES, None)
    assert kind == codecs.JSONLINES and payload == b"2\n4\n6\n"
    assert service.cache[json.dumps({"factor": 2})].model_dir == "/opt/ml/model"


def test_predictor_class_unknown_path_and_hyperparameters(tmp_path):
    with pytest.raises(StartupError, match="'no.such.Predictor' not found"):
        locate("no.such.Predictor")
    (tmp_path / "hyperparameters.json").write_text(json.dumps({"predictor_class": '"pkg.mod.Cls"', "epochs": "3"}))
    assert class_path_from_model(tmp_path) == "pkg.mod.Cls"
    assert class_path_from_model(tmp_path / "missing") is None
