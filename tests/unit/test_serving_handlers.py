"""The handler chain, configuration, batch contract and framework defaults, without any server."""
import sys
import types
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from framework_sdk import codecs
from framework_sdk.container.frameworks import chainer as chainer_framework
from framework_sdk.container.errors import ConfigurationError
from framework_sdk.container.serving.config import ServerConfig
from framework_sdk.container.serving.errors import HTTPError, StartupError
from framework_sdk.container.serving.handlers import Context, HandlerChain

W = np.arange(6, dtype=np.float32).reshape(2, 3)


def module(**functions):
    mod = types.ModuleType("inference")
    mod.__file__ = "/code/inference.py"
    for name, function in functions.items():
        setattr(mod, name, function)
    return mod


def chain(config=None, framework=None, **functions):
    functions.setdefault("model_fn", lambda model_dir: W)
    functions.setdefault("predict_fn", lambda data, model: data @ model)
    handlers = HandlerChain(module(**functions), config or ServerConfig(), framework)
    handlers.load(Context(0, "/opt/ml/model"))
    return handlers


def invoke(handlers, body, content_type=codecs.JSON, accept=None, headers=()):
    return handlers.invoke(body, content_type, accept, Context(0, "/opt/ml/model", headers))


def status_of(call):
    with pytest.raises(HTTPError) as caught:
        call()
    return caught.value.status_code, caught.value.message


# ------------------------------------------------------------------ configuration


def test_config_reads_sagemaker_variables():
    config = ServerConfig.from_env({
        "SAGEMAKER_BIND_TO_PORT": "9090", "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "2.5", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "1",
        "SAGEMAKER_BATCH": "true", "SAGEMAKER_BATCH_STRATEGY": "single_record",
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "4", "SAGEMAKER_CONTAINER_LOG_LEVEL": "10",
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv", "SAGEMAKER_BASE_DIR": "/tmp/ml",
        "INFERENCE_CONFIG": '{"num_samples": 5}',
    })
    assert (config.port, config.workers, config.timeout, config.max_payload_bytes) == (9090, 3, 2.5, 1 << 20)
    assert config.model_dir == Path("/tmp/ml/model") and config.log_level == 10
    assert config.default_accept == "text/csv" and config.inference_config == {"num_samples": 5}
    assert config.execution_parameters() == {"MaxConcurrentTransforms": 4, "BatchStrategy": "SINGLE_RECORD",
                                             "MaxPayloadInMB": 1}


def test_config_defaults_follow_sagemaker():
    config = ServerConfig.from_env({})
    assert (config.port, config.timeout, config.max_payload_mb, config.default_accept) == (8080, 60.0, 6.0,
                                                                                           codecs.JSON)
    assert config.workers >= 1 and config.base_dir == Path("/opt/ml") and not config.batch


@pytest.mark.parametrize("given, strategy", [("MULTI_RECORD", "MULTI_RECORD"), ("SingleRecord", "SINGLE_RECORD"),
                                             ("MultiRecord", "MULTI_RECORD"), ("single-record", "SINGLE_RECORD")])
def test_batch_strategy_takes_the_container_and_the_api_spellings(given, strategy):
    config = ServerConfig.from_env({"SAGEMAKER_BATCH": "True", "SAGEMAKER_BATCH_STRATEGY": given})
    assert config.batch and config.execution_parameters()["BatchStrategy"] == strategy


@pytest.mark.parametrize("env, fragment", [
    ({"SAGEMAKER_BIND_TO_PORT": "http"}, "SAGEMAKER_BIND_TO_PORT='http' is not a whole number"),
    ({"SAGEMAKER_MODEL_SERVER_WORKERS": "0"}, "must be at least 1"),
    ({"SAGEMAKER_BATCH_STRATEGY": "ALL"}, "MULTI_RECORD"),
    ({"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "image/png"}, "image/png"),
    ({"SAGEMAKER_CONTAINER_LOG_LEVEL": "loud"}, "not a log level"),
    ({"INFERENCE_CONFIG": "[1]"}, "must be a JSON object"),
    ({"SAGEMAKER_BATCH": "maybe"}, "not true or false"),
])
def test_config_errors_name_the_variable(env, fragment):
    with pytest.raises(ConfigurationError, match=None) as caught:
        ServerConfig.from_env(env)
    assert fragment in str(caught.value)


# ------------------------------------------------------------------ handler chain


def test_default_input_and_output_use_the_codecs():
    handlers = chain()
    payload, kind = invoke(handlers, b"[[1, 2]]")
    assert kind == codecs.JSON and codecs.json_decode(payload) == [[6.0, 9.0, 12.0]]
    payload, kind = invoke(handlers, codecs.npy_encode(np.ones((4, 2), np.float32)), codecs.NPY, codecs.NPY)
    assert kind == codecs.NPY and codecs.npy_decode(payload).shape == (4, 3)
    payload, kind = invoke(handlers, b"1,2\n0,1\n", codecs.CSV, "text/csv")
    assert payload == b"6.0,9.0,12.0\n3.0,4.0,5.0\n"


def test_accept_negotiation_and_default_accept():
    handlers = chain(ServerConfig(default_accept=codecs.CSV))
    assert invoke(handlers, b"[[1, 2]]", accept="*/*")[1] == codecs.CSV
    assert invoke(handlers, b"[[1, 2]]", accept="text/html, application/jsonlines;q=0.5")[1] == codecs.JSONLINES
    assert status_of(lambda: invoke(handlers, b"[[1, 2]]", accept="image/png"))[0] == 406


def test_error_statuses():
    handlers = chain()
    assert status_of(lambda: invoke(handlers, b"x", "text/xml"))[0] == 415
    assert status_of(lambda: invoke(handlers, b"", ""))[0] == 415
    status, message = status_of(lambda: invoke(handlers, b"[[1, 2", codecs.JSON))
    assert status == 400 and message.startswith("application/json: malformed JSON")
    assert status_of(lambda: invoke(handlers, b"1,2\n1\n", codecs.CSV))[0] == 400
    bad_npy = codecs.npy_encode(np.ones(3))[:-4]
    assert status_of(lambda: invoke(handlers, bytes(bad_npy), codecs.NPY))[0] == 400


def test_user_exception_is_500_with_its_message_and_http_errors_pass_through():
    def predict_fn(data, model):
        raise KeyError("no such feature")

    status, message = status_of(lambda: invoke(chain(predict_fn=predict_fn), b"[[1, 2]]"))
    assert status == 500 and message == "KeyError: 'no such feature'" and "Traceback" not in message

    def teapot(data, model):
        raise HTTPError(418, "short and stout")

    assert status_of(lambda: invoke(chain(predict_fn=teapot), b"[[1]]")) == (418, "short and stout")

    class ToolkitError(Exception):  # sagemaker_inference's GenericInferenceToolkitError has the same shape
        def __init__(self):
            self.status_code, self.message = 429, "slow down"

    def busy(data, model):
        raise ToolkitError()

    assert status_of(lambda: invoke(chain(predict_fn=busy), b"[[1]]")) == (429, "slow down")


def test_output_errors_are_406_and_wrong_return_types_500():
    three_d = chain(predict_fn=lambda data, model: np.zeros((2, 2, 2)))
    status, message = status_of(lambda: invoke(three_d, b"[[1]]", accept="text/csv"))
    assert status == 406 and "1-D and 2-D" in message
    wrong = chain(output_fn=lambda prediction, accept: {"not": "bytes"})
    status, message = status_of(lambda: invoke(wrong, b"[[1, 2]]"))
    assert status == 500 and "output_fn must return bytes or str" in message


def test_context_is_passed_only_to_hooks_that_declare_it():
    seen = {}

    def input_fn(body, content_type, context):
        seen["headers"] = context.request_headers
        seen["worker"] = context.worker_id
        return np.asarray([[1.0, 2.0]], dtype=np.float32)

    def output_fn(prediction, accept):
        return "%d" % prediction.size, "text/plain"

    handlers = chain(input_fn=input_fn, output_fn=output_fn)
    assert invoke(handlers, b"ignored", "anything/at-all", "text/plain",
                  headers=[(b"x-request-id", b"abc")]) == (b"3", "text/plain")
    assert seen == {"headers": {"x-request-id": "abc"}, "worker": 0}


def test_transform_fn_replaces_the_three_and_cannot_be_mixed():
    handlers = chain(transform_fn=lambda model, body, content_type, accept: (b"ok:" + body, "text/plain"),
                     predict_fn=None)
    assert invoke(handlers, b"x", "text/plain") == (b"ok:x", "text/plain")
    with pytest.raises(StartupError, match="defines transform_fn and input_fn"):
        chain(transform_fn=lambda m, b, c, a: b"", input_fn=lambda b, c: b)


def test_missing_model_fn_and_unusable_model_are_startup_errors():
    with pytest.raises(StartupError, match="no model_fn") as caught:
        HandlerChain(module(), ServerConfig())
    assert "def model_fn(model_dir):" in str(caught.value)
    with pytest.raises(StartupError, match="no predict\\(\\) and is not callable"):
        HandlerChain(module(model_fn=lambda d: "a string"), ServerConfig()).load(Context(0, "/m"))
    with pytest.raises(StartupError, match="input_fn in /code/inference.py takes 1 argument"):
        chain(input_fn=lambda body: body)


# ------------------------------------------------------------------ batch transform


def test_multi_record_gives_one_line_per_record():
    config = ServerConfig(batch=True, batch_strategy="MULTI_RECORD")
    scores = chain(config, predict_fn=lambda data, model: data.sum(axis=1))
    payload, kind = invoke(scores, b"1,2\n3,4\n\n5,6\n", codecs.CSV)
    assert kind == codecs.CSV and payload == b"3.0\n7.0\n11.0\n"
    payload, kind = invoke(scores, b"[1,2]\n[3,4]\n", codecs.JSONLINES)
    assert kind == codecs.JSONLINES and payload == b"3\n7\n"
    lossy = chain(config, predict_fn=lambda data, model: data[:1])
    status, message = status_of(lambda: invoke(lossy, b"1,2\n3,4\n", codecs.CSV))
    assert status == 500 and "1 lines for 2 input records" in message


def test_single_record_refuses_several_records():
    config = ServerConfig(batch=True, batch_strategy="SINGLE_RECORD")
    handlers = chain(config)
    assert invoke(handlers, b"1,2\n", codecs.CSV)[0] == b"6.0,9.0,12.0\n"
    assert status_of(lambda: invoke(handlers, b"1,2\n3,4\n", codecs.CSV))[0] == 400


# ------------------------------------------------------------------ Chainer defaults


@pytest.fixture
def fake_chainer(monkeypatch):
    """A stand-in for the chainer module recording the configuration the model ran under."""
    state = {"train": True, "backprop": True}
    fake = types.ModuleType("chainer")

    @contextmanager
    def using_config(name, value):
        old, state[name] = state[name], value
        yield
        state[name] = old

    @contextmanager
    def no_backprop_mode():
        old, state["backprop"] = state["backprop"], False
        yield
        state["backprop"] = old

    fake.using_config, fake.no_backprop_mode = using_config, no_backprop_mode
    monkeypatch.setitem(sys.modules, "chainer", fake)
    return state


def test_chainer_defaults_run_in_test_mode_without_backprop(fake_chainer):
    class Variable:
        def __init__(self, array):
            self.array = array

    class Model:
        def __call__(self, x):
            self.seen = (dict(fake_chainer), x.dtype)
            return Variable(x * 2)

    data = chainer_framework.default_input_fn(b"1,2\n3,4\n", codecs.CSV)
    assert data.dtype == np.float32
    assert chainer_framework.default_input_fn(codecs.npy_encode(np.ones(2, np.int64)), codecs.NPY).dtype == np.float32
    model = Model()
    out = chainer_framework.default_predict_fn(data, model)
    assert isinstance(out, np.ndarray) and out.tolist() == [[2.0, 4.0], [6.0, 8.0]]
    assert model.seen == ({"train": False, "backprop": False}, np.float32)
    assert fake_chainer == {"train": True, "backprop": True}


def test_chainer_without_model_fn_shows_the_model_fn_to_write():
    handlers = HandlerChain(module(), ServerConfig(), chainer_framework)
    with pytest.raises(StartupError) as caught:
        handlers.load(Context(0, "/opt/ml/model"))
    assert "def model_fn(model_dir):" in str(caught.value) and "load_npz" in str(caught.value)
