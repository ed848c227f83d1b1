"""Chainer end to end on both local backends: fit, deploy, predict, two hosts, ChainerModel.

The training script is the Chainer guide's pattern (``examples/chainer_mnist``), copied with
a ``requirements.txt`` naming a small pure-Python package that the copy imports and reports,
so the job proves its requirements were installed. One model is trained per backend and
reused by every test of that backend (module-scoped fixtures).
"""
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from framework_sdk import AWSError, LocalSession
from framework_sdk.chainer import Chainer, ChainerPredictor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "chainer_mnist"
REQUIREMENT = ("tabulate", "0.8.10")  # small, pure Python, not in the Chainer environment or image
BACKENDS = [pytest.param("process", id="process"),
            pytest.param("docker", id="docker", marks=pytest.mark.docker)]


def _load_example_data():
    sys.path.insert(0, str(EXAMPLE))
    try:
        import data
    finally:
        sys.path.remove(str(EXAMPLE))
    return data


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Data channels written by the example's data.py and a source_dir copy with requirements.txt."""
    root = tmp_path_factory.mktemp("chainer-e2e")
    data = _load_example_data()
    data.write(str(root / "data" / "train"), 2000, seed=1)
    data.write(str(root / "data" / "test"), 500, seed=2)
    source = root / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "data.py"))
    name, version = REQUIREMENT
    (source / "requirements.txt").write_text(f"{name}=={version}\n")
    script = (source / "train.py").read_text()
    report = (f"import {name}  # installed from requirements.txt\n"
              f"print('requirement loaded: {name}', {name}.__version__, flush=True)\n")
    (source / "train.py").write_text(script.replace("\nimport argparse\n", "\n" + report + "import argparse\n", 1))
    assert report in (source / "train.py").read_text()
    return root


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    """The backend name; docker builds (or reuses) the chainer image, process the chainer venv."""
    if request.param == "docker":
        request.getfixturevalue("chainer_image")
    else:
        from framework_sdk import venvs

        venvs.framework_python("chainer", "7.8.1")
    return request.param


@pytest.fixture(scope="module")
def session(backend, workspace):
    scratch = workspace / f"runs-{backend}"
    scratch.mkdir()
    session = LocalSession(backend=backend, work_dir=str(scratch))
    yield session
    session.close()
    assert list(scratch.iterdir()) == [], "local mode left temporary trees behind"


def chainer(session, workspace, entry_point, instance_count, **kwargs):
    return Chainer(entry_point=entry_point, source_dir=str(workspace / "source"), instance_type="local",
                   instance_count=instance_count, framework_version="7.8.1", hyperparameters={"epochs": 2},
                   output_path=f"file://{workspace}/models", sagemaker_session=session, **kwargs)


def channels(workspace):
    return {"train": f"file://{workspace}/data/train", "test": f"file://{workspace}/data/test"}


def job_logs(session, estimator):
    out = io.StringIO()
    session.logs_for_job(estimator.latest_training_job.name, out=out)
    return out.getvalue()


def local_file(uri):
    assert uri.startswith("file://"), uri
    return Path(uri[len("file://"):])


def read_from_tar(path, member):
    with tarfile.open(path) as archive:
        return archive.extractfile(member).read()


def read_test_channel(workspace):
    with np.load(workspace / "data" / "test" / "data.npz") as data:
        return data["x"], data["y"]


@pytest.fixture(scope="module")
def trained(session, workspace):
    """One single-host training job of train.py per backend."""
    estimator = chainer(session, workspace, "train.py", 1)
    estimator.fit(channels(workspace), logs="None")
    return estimator


def test_fit_installs_requirements_and_trains(trained, session):
    logs = job_logs(session, trained)
    assert f"requirement loaded: {REQUIREMENT[0]} {REQUIREMENT[1]}" in logs, logs
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", logs).group(1))
    assert accuracy > 0.5, logs
    model_tar = local_file(trained.model_data)
    assert model_tar.name == "model.tar.gz" and model_tar.is_file()
    with tarfile.open(model_tar) as archive:
        assert "model.npz" in archive.getnames()
    metrics = json.loads(read_from_tar(model_tar.parent / "output.tar.gz", "metrics.json"))
    assert metrics["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)


def test_attach_rebuilds_the_estimator(trained, session):
    attached = Chainer.attach(trained.latest_training_job.name, sagemaker_session=session)
    assert (attached.entry_point, attached.framework_version, attached.model_data) == (
        "train.py", "7.8.1", trained.model_data)
    assert attached.hyperparameters()["epochs"] == "2" and attached.use_mpi is False


def test_deploy_predict_and_delete(trained, workspace, session):
    predictor = trained.deploy(initial_instance_count=1, instance_type="local")
    try:
        assert isinstance(predictor, ChainerPredictor)
        x, y = read_test_channel(workspace)
        scores = predictor.predict(x[:5])
        assert isinstance(scores, np.ndarray) and scores.shape == (5, 10)
        accuracy = float((predictor.predict(x).argmax(axis=1) == y).mean())
        assert accuracy > 0.5, f"accuracy {accuracy} is not clearly above chance (0.1)"
    finally:
        predictor.delete_endpoint()
    with pytest.raises(AWSError, match="does not exist|Could not find"):
        session.describe_endpoint(predictor.endpoint_name)


def test_two_hosts_with_chainermn(session, workspace, backend):
    # one rank per host: two ranks whatever the machine's core count, so the sum is 1 + 2
    estimator = chainer(session, workspace, "train_distributed.py", 2, process_slots_per_host=1)
    estimator.fit(channels(workspace), logs="None")
    logs = job_logs(session, estimator)
    for rank in (0, 1):
        assert re.search(rf"rank {rank} of size 2 on host algo-\d", logs), logs
    assert "allreduce sum of rank+1 over 2 ranks: 3" in logs, logs
    if backend == "docker":  # one rank in each container: the runner tags each line with its machine's name
        assert "[algo-1 rank 0] rank 0 of size 2" in logs and "[algo-2 rank 1] rank 1 of size 2" in logs, logs
    output = local_file(estimator.model_data).parent / "output.tar.gz"
    metrics = json.loads(read_from_tar(output, "metrics.json"))
    assert metrics["world_size"] == 2 and metrics["allreduce"] == 3
    assert metrics["test_accuracy"] > 0.5, metrics


FRESH_PROCESS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from framework_sdk import AWSError, LocalSession
    from framework_sdk.chainer import ChainerModel

    backend, model_data, source_dir, data_file = sys.argv[1:5]
    session = LocalSession(backend=backend)
    model = ChainerModel(model_data=model_data, entry_point="train.py", source_dir=source_dir,
                         framework_version="7.8.1", sagemaker_session=session)
    predictor = model.deploy(initial_instance_count=1, instance_type="local")
    try:
        with np.load(data_file) as data:
            x, y = data["x"], data["y"]
        scores = predictor.predict(x)
        print(json.dumps({"shape": list(scores.shape), "accuracy": float((scores.argmax(1) == y).mean())}))
    finally:
        predictor.delete_endpoint()
        session.close()
""")


def test_chainer_model_deploys_model_data_in_a_fresh_process(trained, workspace, backend, session):
    script = workspace / "deploy_model_data.py"
    script.write_text(FRESH_PROCESS_SCRIPT)
    data_file = workspace / "data" / "test" / "data.npz"
    result = subprocess.run(
        [sys.executable, str(script), backend, trained.model_data, str(workspace / "source"), str(data_file)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["shape"] == [500, 10]
    assert answer["accuracy"] > 0.5, answer
