"""Typed JSON mode (with its docs pages in a real browser), predictor-class serving and batch transform, over HTTP."""
import json
import shutil
import subprocess

import pytest

from framework_sdk import codecs
from test_serving_support import ServerProcess, write_model

TYPED = '''
"""Sentiment scorer: a typed JSON model."""
from typing import List
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings


class Instance(BaseModel):
    text: str = Field(min_length=1, description="The sentence to score")
    weight: float = 1.0


class Prediction(BaseModel):
    score: float
    batch_size: int


class PredictorConfig(BaseSettings):
    batch_size: int = 2
    bonus: float = 0.0


class Predictor:
    def __init__(self, config: PredictorConfig, artifacts_dir: str):
        self.config = config

    def predict_batch(self, instances: List[Instance]) -> List[Prediction]:
        return [Prediction(score=len(i.text) * i.weight + self.config.bonus, batch_size=len(instances))
                for i in instances]
'''

PREDICTOR_CLASS = '''
class Repeater:
    """Built per configuration; predicts one value per instance."""

    def __init__(self, times=1, suffix=""):
        self.times, self.suffix = times, suffix

    def predict(self, instances):
        return [str(value) * self.times + self.suffix for value in instances]
'''


@pytest.fixture(scope="module")
def typed_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("typed")
    write_model(base, code=TYPED)
    with ServerProcess(base, workers=1, BONUS="0.5") as server:
        yield server.wait_ready()


def test_typed_mode_validates_batches_and_keeps_order(typed_server):
    instances = [{"text": "a" * n} for n in range(1, 6)]
    status, headers, body = typed_server.invoke(json.dumps({"instances": instances}), codecs.JSON)
    assert status == 200 and headers["content-type"] == codecs.JSON
    assert json.loads(body) == {"predictions": [{"score": n + 0.5, "batch_size": 2 if n <= 4 else 1}
                                                for n in range(1, 6)]}
    status, _, body = typed_server.invoke(json.dumps({"instances": [{"text": "ok"}, {"text": "", "weight": "x"}]}),
                                          codecs.JSON)
    error = json.loads(body)
    assert status == 422 and {tuple(item["loc"]) for item in error["detail"]} == {
        ("body", "instances", 1, "text"), ("body", "instances", 1, "weight")}
    assert typed_server.invoke(b"1,2", codecs.CSV)[0] == 415
    assert typed_server.request("GET", "/ping")[0] == 200


def test_typed_mode_publishes_openapi_and_offline_docs(typed_server):
    status, _, body = typed_server.request("GET", "/openapi.json")
    schema = json.loads(body)
    assert status == 200 and "/invocations" in schema["paths"]
    assert {"Instance", "Prediction"} <= set(schema["components"]["schemas"])
    assert schema["info"]["title"] == "Sentiment scorer: a typed JSON model."
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        status, _, html = typed_server.request("GET", page)
        assert status == 200 and b"cdn" not in html.lower()
        src = next(part for part in html.decode().split('"') if part.endswith(asset))
        assert typed_server.request("GET", src)[0] == 200, src


def test_docs_page_renders_the_schema_in_a_real_browser(typed_server, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
               f"--user-data-dir={tmp_path}", "--dump-dom", f"http://127.0.0.1:{typed_server.port}/docs"]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=90).stdout
    # Swagger UI only writes these after it fetched /openapi.json and rendered it with its local assets.
    assert "opblock-summary-path" in dom and "/invocations" in dom and "Predict a batch of instances" in dom
    assert "Instance" in dom and "Prediction" in dom


def test_predictor_class_server_uses_request_configuration(tmp_path):
    write_model(tmp_path, code=None)
    (tmp_path / "model" / "code" / "repeaters.py").write_text(PREDICTOR_CLASS)
    (tmp_path / "model" / "hyperparameters.json").write_text(json.dumps({"predictor_class": '"repeaters.Repeater"'}))
    with ServerProcess(tmp_path, workers=1) as server:
        server.wait_ready()
        request = {"instances": ["a", "b"], "configuration": {"times": 3}}
        status, _, body = server.invoke(json.dumps(request), codecs.JSON)
        assert status == 200 and json.loads(body) == {"predictions": ["aaa", "bbb"]}
        status, _, body = server.invoke(json.dumps({"instances": ["a"], "configuration": {"colour": 1}}), codecs.JSON)
        assert status == 400 and "colour" in json.loads(body)["message"]


def test_predictor_class_batch_transform_with_inference_config(tmp_path):
    write_model(tmp_path, code=None)
    (tmp_path / "model" / "code" / "repeaters.py").write_text(PREDICTOR_CLASS)
    with ServerProcess(tmp_path, workers=1, SAGEMAKER_BATCH="true", FRAMEWORK_SDK_PREDICTOR_CLASS="repeaters.Repeater",
                       INFERENCE_CONFIG=json.dumps({"times": 2, "suffix": "!"})) as server:
        server.wait_ready()
        status, _, body = server.invoke(b'"x"\n"y"\n"z"\n', codecs.JSONLINES)
        assert status == 200 and body.decode().splitlines() == ['"xx!"', '"yy!"', '"zz!"']


@pytest.mark.parametrize("strategy", ["MULTI_RECORD", "SINGLE_RECORD"])
def test_batch_transform_answers_one_line_per_record(tmp_path, strategy):
    write_model(tmp_path, code="import numpy as np\ndef model_fn(d):\n    return np.load(d + '/W.npy')\n"
                               "def predict_fn(x, W):\n    return (x @ W).sum(axis=1)\n")
    with ServerProcess(tmp_path, workers=1, SAGEMAKER_BATCH="true", SAGEMAKER_BATCH_STRATEGY=strategy) as server:
        server.wait_ready()
        params = json.loads(server.request("GET", "/execution-parameters")[2])
        assert params["BatchStrategy"] == strategy
        rows = [[float(i)] * 16 for i in range(7)]
        csv_body = "".join(",".join(map(str, row)) + "\n" for row in rows).encode()
        jsonl_body = "".join(json.dumps(row) + "\n" for row in rows).encode()
        for body, kind in ((csv_body, codecs.CSV), (jsonl_body, codecs.JSONLINES)):
            if strategy == "MULTI_RECORD":
                status, headers, answer = server.invoke(body, kind)
                assert status == 200 and headers["content-type"] == kind
                lines = answer.decode().splitlines()
                assert [float(line) for line in lines] == [i * 1128.0 for i in range(7)]
            else:
                assert server.invoke(body, kind)[0] == 400
                for i, line in enumerate(body.splitlines(keepends=True)):
                    status, _, answer = server.invoke(line, kind)
                    assert status == 200 and float(answer) == i * 1128.0 and answer.count(b"\n") == 1
