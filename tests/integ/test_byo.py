"""The bring-your-own decision-tree image, run directly with docker-py against temporary /opt/ml trees."""
import json
import os
import random
import time

import pytest
import requests

from framework_sdk.metrics import MetricsCollector

pytestmark = pytest.mark.docker

SPECIES = ("setosa", "versicolor", "virginica")


def iris_like(rows=90, seed=0):
    """``(labels, features)``: three species with four well separated measurements each."""
    generator = random.Random(seed)
    labels = [SPECIES[index % 3] for index in range(rows)]
    features = [[round(1.0 + 2.0 * SPECIES.index(label) + generator.random(), 2) for _ in range(4)]
                for label in labels]
    return labels, features


def ml_tree(root, channel_text, hyperparameters):
    for folder in ("input/config", "input/data/training", "model", "output"):
        os.makedirs(root / folder)
    (root / "input/config/hyperparameters.json").write_text(json.dumps(hyperparameters))
    (root / "input/config/resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    (root / "input/config/inputdataconfig.json").write_text(json.dumps({"training": {"ContentType": "text/csv"}}))
    if channel_text is not None:
        (root / "input/data/training/iris.csv").write_text(channel_text)
    return root


def run(client, image, command, **kwargs):
    """Run ``image command`` as this user (so nothing root-owned is left) to its end; ``(exit code, logs)``."""
    container = client.containers.run(image, [command], detach=True, user=f"{os.getuid()}:{os.getgid()}",
                                      name=f"fsdk-test-byo-{command}-{os.getpid()}-{time.monotonic_ns()}", **kwargs)
    try:
        code = container.wait(timeout=120)["StatusCode"]
        return code, container.logs().decode()
    finally:
        container.remove(force=True)


@pytest.fixture
def trained_model(docker_client, decision_tree_image, tmp_path):
    labels, features = iris_like()
    text = "".join(f"{label},{','.join(map(str, row))}\n" for label, row in zip(labels, features))
    tree = ml_tree(tmp_path / "train", text, {"max_leaf_nodes": "8"})
    code, logs = run(docker_client, decision_tree_image, "train", volumes={str(tree): {"bind": "/opt/ml"}})
    assert code == 0, logs
    return tree / "model", logs


def test_train_fits_a_decision_tree_and_logs_its_metrics(trained_model):
    model_dir, logs = trained_model
    assert (model_dir / "decision-tree-model.joblib").stat().st_size > 0
    assert "rows: 90; features: 4" in logs
    metrics = MetricsCollector([{"Name": "train:accuracy", "Regex": r"train:accuracy=(\S+)"}])
    for line in logs.splitlines():
        metrics.feed(line)
    assert metrics.last("train:accuracy") == 1.0


@pytest.mark.parametrize("channel_text, reason", [
    (None, "there are no rows in /opt/ml/input/data/training"),
    ("setosa,1.0,abc\n", "iris.csv line 1: could not convert string to float: 'abc'"),
])
def test_train_failure_is_explained_in_output_failure(docker_client, decision_tree_image, tmp_path, channel_text,
                                                      reason):
    tree = ml_tree(tmp_path / "bad", channel_text, {})
    code, logs = run(docker_client, decision_tree_image, "train", volumes={str(tree): {"bind": "/opt/ml"}})
    assert code == 255
    failure = (tree / "output/failure").read_text()
    assert reason in failure and reason in logs
    assert not list((tree / "model").iterdir())


def wait_for_ping(url, container, bound=60.0):
    """Retry /ping with a short backoff until 200, the container exits, or ``bound`` seconds pass."""
    deadline, delay = time.monotonic() + bound, 0.02
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        container.reload()
        assert container.status == "running", container.logs().decode()
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
    raise AssertionError(f"/ping did not answer 200 within {bound} s: {container.logs().decode()[-500:]}")


def test_serve_answers_ping_and_one_csv_prediction_per_line(docker_client, decision_tree_image, trained_model):
    model_dir, _ = trained_model
    container = docker_client.containers.run(
        decision_tree_image, ["serve"], detach=True, user=f"{os.getuid()}:{os.getgid()}",
        name=f"fsdk-test-byo-serve-{os.getpid()}", volumes={str(model_dir): {"bind": "/opt/ml/model"}},
        ports={"8080/tcp": ("127.0.0.1", None)}, environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    try:
        container.reload()
        url = f"http://127.0.0.1:{container.attrs['NetworkSettings']['Ports']['8080/tcp'][0]['HostPort']}"
        wait_for_ping(url, container)
        labels, features = iris_like(rows=30, seed=7)
        body = "".join(",".join(map(str, row)) + "\n" for row in features)
        response = requests.post(f"{url}/invocations", data=body, headers={"Content-Type": "text/csv"}, timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
        predictions = response.text.splitlines()
        assert len(predictions) == len(features)
        assert sum(p == label for p, label in zip(predictions, labels)) >= 27

        bad = requests.post(f"{url}/invocations", data="1,2\n", headers={"Content-Type": "text/csv"}, timeout=10)
        assert bad.status_code == 400 and "each row must have 4 features" in bad.text
        wrong_type = requests.post(f"{url}/invocations", data="{}", headers={"Content-Type": "application/json"},
                                   timeout=10)
        assert wrong_type.status_code == 415 and "text/csv" in wrong_type.text
        again = requests.post(f"{url}/invocations", data=body, headers={"Content-Type": "text/csv"}, timeout=10)
        assert again.text.splitlines() == predictions
    finally:
        container.remove(force=True)
