"""Bring-your-own images on the process backend (no Docker): image folders run as child processes,
and inference requirements go into a cached layer, never into the shared environment."""
import json
import logging
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from framework_sdk import CSVDeserializer, CSVSerializer, Estimator, LocalSession, venvs
from framework_sdk.exceptions import UnexpectedStatusException
from framework_sdk.local import LocalModeError
from framework_sdk.model import FrameworkModel

from test_byo_sdk import processes_under

DOCKERFILE = """\
FROM framework-sdk-base:bookworm
COPY --chown=0:0 bin/ /opt/program/
ENV PATH="/opt/program:${PATH}"
WORKDIR /opt/program
"""

TRAIN = '''\
#!/usr/bin/env python3
"""Learn a scale: the prediction of a row is its sum times the mean of the labels (first column)."""
import json, os, sys
base = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
hps = json.load(open(os.path.join(base, "input", "config", "hyperparameters.json")))
channel = os.path.join(base, "input", "data", "training")
labels = [float(line.split(",")[0]) for name in sorted(os.listdir(channel))
          for line in open(os.path.join(channel, name)) if line.strip()]
print(f"{os.environ['GREETING']}: {len(labels)} rows", flush=True)
with open(os.path.join(base, "model", "model.json"), "w") as model:
    json.dump({"scale": sum(labels) / len(labels) * float(hps.get("factor", "1")), "cwd": os.getcwd(),
               "python": sys.executable, "virtual_env": os.environ.get("VIRTUAL_ENV")}, model)
'''

SERVE = '''\
#!/usr/bin/env python3
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer
base = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
scale = json.load(open(os.path.join(base, "model", "model.json")))["scale"]

class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body, kind="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, "") if self.path == "/ping" else self.reply(404, "no such route")

    def do_POST(self):
        text = self.rfile.read(int(self.headers["Content-Length"])).decode()
        try:
            rows = [[float(value) for value in line.split(",")] for line in text.splitlines() if line.strip()]
        except ValueError as error:
            return self.reply(400, f"bad CSV: {error}")
        self.reply(200, "".join(f"{sum(row) * scale}\\n" for row in rows), "text/csv")

HTTPServer(("127.0.0.1", int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))), Handler).serve_forever()
'''


def write_folder(folder, train=TRAIN, serve=SERVE, toml='tag = "scaler:1"\n[environment]\nGREETING = "hello"\n'):
    (folder / "bin").mkdir(parents=True)
    (folder / "Dockerfile").write_text(DOCKERFILE)
    (folder / "image.toml").write_text(toml)
    for name, text in (("train", train), ("serve", serve)):
        (folder / "bin" / name).write_text(text)
        (folder / "bin" / name).chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def scaler(tmp_path_factory):
    """An image folder needing no packages: its environment is a bare venv (built once here)."""
    return write_folder(tmp_path_factory.mktemp("images") / "scaler")


@pytest.fixture
def work(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.csv").write_text("1,5\n3,7\n")
    (tmp_path / "runs").mkdir()
    return tmp_path


@pytest.fixture
def session(work, scaler):
    session = LocalSession(backend="process", image_folders=[scaler], work_dir=str(work / "runs"))
    yield session
    session.close()
    assert list((work / "runs").iterdir()) == [] and processes_under(work / "runs") == []


def estimator(session, work, image, **kwargs):
    return Estimator(image, "SageMakerRole", 1, "local", sagemaker_session=session,
                     output_path=f"file://{work}/models", **kwargs)


def test_a_folder_named_as_the_image_trains_and_serves_on_two_instances(session, work, scaler, capsys):
    trainer = estimator(session, work, f"file://{scaler}", hyperparameters={"factor": 10})
    trainer.fit(f"file://{work}/data")
    assert "algo-1 | hello: 2 rows" in capsys.readouterr().out  # [environment] of image.toml
    with tarfile.open(trainer.model_data[len("file://"):]) as archive:
        model = json.load(archive.extractfile("model.json"))
    assert model["scale"] == 20.0
    assert model["cwd"] == str(scaler / "bin")  # the Dockerfile's WORKDIR is where it copies bin/
    assert Path(model["python"]).parent == Path(model["virtual_env"]) / "bin"
    assert Path(model["virtual_env"]).parent == venvs.cache_dir() / "venvs"

    predictor = trainer.deploy(2, "local", serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        endpoint = session.local_endpoint(predictor.endpoint_name)
        assert len({url for url in endpoint.urls}) == 2
        for _ in range(4):  # spread over both instances
            assert predictor.predict([[1, 2], [0.5, 0]]) == [["60.0"], ["10.0"]]
    finally:
        predictor.delete_endpoint()


def test_the_tag_in_image_toml_of_a_folder_from_the_config_file(work, scaler, monkeypatch):
    config = work / "config" / "framework-sdk"
    config.mkdir(parents=True)
    (config / "config.json").write_text(json.dumps({"local": {"image_folders": [os.path.relpath(scaler, config)]}}))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(work / "config"))
    session = LocalSession(backend="process", work_dir=str(work / "runs"))
    try:
        trainer = estimator(session, work, "scaler:1")
        trainer.fit(f"file://{work}/data", logs=False)
        assert trainer.model_data.endswith("model.tar.gz")
    finally:
        session.close()


def test_an_image_nothing_stands_for_names_both_ways_out(session, work):
    with pytest.raises(LocalModeError) as error:
        estimator(session, work, "my-team/byo:latest").fit(f"file://{work}/data")
    message = str(error.value)
    assert "process backend cannot run image 'my-team/byo:latest'" in message
    assert "LocalSession(backend='docker')" in message and "image_folders" in message
    assert "tag = 'my-team/byo:latest'" in message and "scaler:1" in message  # what the folders answer to


@pytest.mark.skipif(os.path.exists("/opt/ml"), reason="this machine has a real /opt/ml")
def test_a_program_that_hardcodes_opt_ml_fails_saying_what_to_change(session, work, tmp_path):
    folder = write_folder(tmp_path / "hardcoded", train=TRAIN.replace(
        'os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")', '"/opt/ml"'), toml="")
    with pytest.raises(UnexpectedStatusException) as failure:
        estimator(session, work, f"file://{folder}").fit(f"file://{work}/data", logs=False)
    message = str(failure.value)
    assert "host algo-1 exited with code 1" in message and "No such file or directory: '/opt/ml/" in message
    assert "make the program read SAGEMAKER_BASE_DIR (default /opt/ml)" in message
    assert "LocalSession(backend='docker')" in message


def test_a_shebang_naming_an_interpreter_of_the_image_is_explained(session, work, tmp_path):
    folder = write_folder(tmp_path / "shebang", train=TRAIN.replace("#!/usr/bin/env python3", "#!/opt/venv/bin/python"),
                          toml="")
    with pytest.raises(UnexpectedStatusException) as failure:
        estimator(session, work, f"file://{folder}").fit(f"file://{work}/data", logs=False)
    assert "starts with #!/opt/venv/bin/python, which does not exist on this machine" in str(failure.value)
    assert "#!/usr/bin/env python3" in str(failure.value)


# ---------------------------------------------------------------- inference requirements

INFERENCE = '''
import text_unidecode

def model_fn(model_dir):
    return text_unidecode.unidecode

def predict_fn(data, model):
    return [[len(model("\\u00e9\\u00e8" * int(row[0])))] for row in data]
'''


class PythonModel(FrameworkModel):
    _framework_name = "python"


def site_packages_listing(python):
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return sorted(path.name for path in Path(out).iterdir())


def test_serving_code_with_requirements_leaves_the_cached_environment_unchanged(work, caplog):
    python = venvs.framework_python("python", "3.11")
    before = site_packages_listing(python)
    assert not any(name.startswith("text_unidecode") for name in before)
    code = work / "code"
    code.mkdir()
    (code / "inference.py").write_text(INFERENCE)
    (code / "requirements.txt").write_text("text-unidecode==1.3\n")
    model_dir = work / "model"
    model_dir.mkdir()
    (model_dir / "weights.txt").write_text("none\n")
    session = LocalSession(backend="process", work_dir=str(work / "runs"))
    try:
        for attempt in range(2):
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="framework_sdk.venvs"):
                model = PythonModel(f"file://{model_dir}", None, "SageMakerRole", "inference.py", source_dir=str(code),
                                    framework_version="3.11", sagemaker_session=session)
                predictor = model.deploy(1, "local", serializer=CSVSerializer(), deserializer=CSVDeserializer())
            try:
                assert predictor.predict([[1], [3]]) == [["2"], ["6"]]  # "éè" * n -> "ee" * n, by the layer's package
            finally:
                predictor.delete_endpoint()
            if attempt == 1:
                assert "already installed" in caplog.text  # the second endpoint installs nothing
    finally:
        session.close()
    assert site_packages_listing(python) == before
    assert subprocess.run([str(python), "-c", "import text_unidecode"], capture_output=True).returncode != 0
