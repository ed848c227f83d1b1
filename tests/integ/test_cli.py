"""The local-mode commands, run for real on the docker backend with the decision-tree bring-your-own image.

`train` -> `serve` (a subprocess, stopped with SIGINT) -> `predict` (by name and by URL) -> `transform`:
the same effect as the SageMaker example's train_local.sh, serve_local.sh and predict.sh.
"""
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from framework_sdk.cli import main
from framework_sdk.local.storage import local_path

from test_byo import iris_like

pytestmark = pytest.mark.docker
SERVE_BOUND_SECONDS = 60


def csv_rows(rows, labels=None):
    return "".join((f"{label}," if labels else "") + ",".join(map(str, row)) + "\n"
                   for label, row in zip(labels or [None] * len(rows), rows))


@pytest.fixture
def work(tmp_path, monkeypatch):
    """Training data, a batch file, and the user's state and data folders under tmp_path."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.chdir(tmp_path)
    labels, features = iris_like()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "iris.csv").write_text(csv_rows(features, labels))
    (tmp_path / "batch").mkdir()
    test_labels, test_features = iris_like(rows=12, seed=5)
    (tmp_path / "batch" / "payload.csv").write_text(csv_rows(test_features))
    return tmp_path, test_labels


def invoke(*arguments):
    result = CliRunner().invoke(main, [str(argument) for argument in arguments])
    return result


def train(image, work_dir, *extra):
    result = invoke("train", image, "--channel", "training=data", "--hp", "max_leaf_nodes=5", "--backend", "docker",
                    "--output-path", "models", *extra)
    assert result.exit_code == 0, result.output
    model_data = result.stdout.strip().splitlines()[-1]
    assert model_data.startswith(f"file://{work_dir}/models/") and model_data.endswith("/output/model.tar.gz")
    assert local_path(model_data).is_file()
    return result, model_data


def our_containers(docker_client, name):
    return docker_client.containers.list(all=True, filters={"name": f"fsdk-{name}"})


class Server:
    """`framework-sdk serve` in a subprocess; its stdout lines are read by a thread into a queue."""

    def __init__(self, arguments, stderr_path):
        self.stderr = open(stderr_path, "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "framework_sdk.cli", "serve", *arguments],
                                        stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def url(self):
        """The URL from the "serving at" line (waits, bounded, for it)."""
        deadline = time.monotonic() + SERVE_BOUND_SECONDS
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"serve exited early: {Path(self.stderr.name).read_text()}"
            match = re.search(r"is serving at (http://\S+)", line)
            if match:
                return match.group(1)

    def stop(self, docker_client, name):
        """Whatever happened: Ctrl-C, then kill after a bound, then remove any container it left."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(SERVE_BOUND_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.stderr.close()
        left = our_containers(docker_client, name)
        for container in left:
            container.remove(force=True)
        return left


def test_train_serve_predict_transform(docker_client, decision_tree_image, work):
    work_dir, test_labels = work
    result, model_data = train(decision_tree_image, work_dir, "--metric", r"train:accuracy=train:accuracy=(\S+)",
                               "--plot", "metrics.png")
    assert "algo-1 | " in result.stderr and "Training complete" in result.stderr  # live logs, on stderr
    assert re.search(r"metric train:accuracy: last 1 \(1 values\)", result.stderr)
    assert (work_dir / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    name = f"cli-test-{os.getpid()}"
    server = Server([decision_tree_image, "--model-data", model_data, "--port", "0", "--name", name,
                     "--backend", "docker"], work_dir / "serve.err")
    try:
        url = server.url()
        answer = invoke("predict", "--endpoint", name, "--content-type", "text/csv", "batch/payload.csv")
        assert answer.exit_code == 0, answer.output
        predictions = answer.stdout.splitlines()
        assert len(predictions) == len(test_labels)
        assert sum(p == label for p, label in zip(predictions, test_labels)) >= 10
        piped = CliRunner().invoke(main, ["predict", "--endpoint", url, "-"],
                                   input=(work_dir / "batch" / "payload.csv").read_bytes())
        assert piped.exit_code == 0 and piped.stdout.splitlines() == predictions
        refused = invoke("predict", "--endpoint", name, "--content-type", "application/json", "batch/payload.csv")
        assert refused.exit_code == 1 and "answered 415" in refused.output and "text/csv" in refused.output
        listed = invoke("endpoints")
        assert name in listed.stdout and url in listed.stdout

        server.process.send_signal(signal.SIGINT)  # Ctrl-C
        assert server.process.wait(SERVE_BOUND_SECONDS) == 0
        assert f"endpoint {name} stopped" in (work_dir / "serve.err").read_text()
    finally:
        left = server.stop(docker_client, name)
    assert left == []
    assert not list((work_dir / "state" / "framework-sdk" / "endpoints").glob("*.json"))
    gone = invoke("predict", "--endpoint", name, "batch/payload.csv")
    assert gone.exit_code == 1 and f"no local endpoint named {name!r}" in gone.output

    # transform with no --output: the session's default output path (under XDG_DATA_HOME).
    batch = invoke("transform", decision_tree_image, "--model-data", model_data, "--input", "batch",
                   "--split-type", "Line", "--backend", "docker")
    assert batch.exit_code == 0, batch.output
    output = batch.stdout.strip().splitlines()[-1]
    assert output.startswith(f"file://{work_dir}/share/framework-sdk/local-output/")
    assert (local_path(output) / "payload.csv.out").read_text().splitlines() == predictions


def test_failures_say_what_to_do(docker_client, decision_tree_image, work):
    work_dir, _ = work
    (work_dir / "empty").mkdir()
    failed = invoke("train", decision_tree_image, "--channel", "empty", "--backend", "docker", "--output-path",
                    "models")
    assert failed.exit_code == 1
    assert "failed" in failed.output and "output/failure" in failed.output  # the job's own reason
    assert not (work_dir / "models").exists()

    missing = invoke("train", "fsdk-cli-test-no-such-image:1", "--backend", "docker")
    assert missing.exit_code == 1 and "docker build -t fsdk-cli-test-no-such-image:1" in missing.output

    framework = invoke("train", "chainer", "--channel", "data", "--backend", "docker")
    assert framework.exit_code == 2 and "--entry-point" in framework.output

    with socket.create_server(("0.0.0.0", 0)) as busy:
        taken = invoke("serve", decision_tree_image, "--model-data", "data", "--port", busy.getsockname()[1],
                       "--backend", "docker")
    assert taken.exit_code == 1 and "already in use" in taken.output and "--port 0" in taken.output


def test_images_build_is_cached_and_list_reads_the_labels(docker_client, python_image):
    rebuilt = invoke("images", "build", "python")
    assert rebuilt.exit_code == 0, rebuilt.output
    tag, size, _, seconds, _, cached, _ = rebuilt.stdout.split()[:7]
    assert tag == python_image == "framework-sdk-python:3.11-cpu-py3"
    assert float(seconds) < 60 and int(cached.split("/")[0]) >= 5  # unchanged inputs: the layer cache answers

    listed = invoke("images", "list")
    assert listed.exit_code == 0, listed.output
    row = next(line.split() for line in listed.stdout.splitlines() if line.startswith(python_image + " "))
    assert row[1:5] == ["python", "3.11", "py3.11", "cpu"]

    unknown = invoke("images", "build", "no-such-image-folder")
    assert unknown.exit_code == 1 and "available: chainer, python" in unknown.output
