"""The life of a local training job on both backends: checkpoints and resume, stop, max_run, SIGTERM.

The resume script is the pattern of SageMaker's Chainer guide: a trainer whose ``snapshot`` extension
writes into the checkpoint folder, loading the latest snapshot found there before it runs.
"""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from framework_sdk import LocalSession
from framework_sdk.chainer import Chainer
from framework_sdk.local import registry

BACKENDS = [pytest.param("process", id="process"),
            pytest.param("docker", id="docker", marks=pytest.mark.docker)]

RESUMABLE = '''
import argparse, glob, os
import numpy as np
import chainer
import chainer.links as L
from chainer import training
from chainer.training import extensions

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
args, _ = parser.parse_known_args()
checkpoints = os.environ.get("FRAMEWORK_SDK_CHECKPOINT_DIR", "/opt/ml/checkpoints")
rng = np.random.RandomState(0)
x = rng.rand(64, 4).astype(np.float32)
y = (x.sum(axis=1) > 2).astype(np.int32)
model = L.Classifier(L.Linear(4, 2))
optimizer = chainer.optimizers.SGD()
optimizer.setup(model)
iterator = chainer.iterators.SerialIterator(chainer.datasets.TupleDataset(x, y), 16)
updater = training.updaters.StandardUpdater(iterator, optimizer)
trainer = training.Trainer(updater, (args.epochs, "epoch"), out=checkpoints)
trainer.extend(extensions.snapshot(filename="snapshot_epoch_{.updater.epoch}"), trigger=(1, "epoch"))
snapshots = sorted(glob.glob(os.path.join(checkpoints, "snapshot_epoch_*")), key=lambda p: int(p.rsplit("_", 1)[1]))
if snapshots:
    chainer.serializers.load_npz(snapshots[-1], trainer)
    print(f"resumed from {os.path.basename(snapshots[-1])} at epoch {updater.epoch}", flush=True)
else:
    print("no snapshot: starting at epoch 0", flush=True)
trainer.run()
print(f"finished at epoch {updater.epoch}", flush=True)
chainer.serializers.save_npz(os.path.join(os.environ["SM_MODEL_DIR"], "model.npz"), model)
'''

PATIENT = '''
import os, signal, sys, time
checkpoints = os.environ.get("FRAMEWORK_SDK_CHECKPOINT_DIR", "/opt/ml/checkpoints")

def last_words(number, frame):
    with open(os.path.join(checkpoints, "last.txt"), "w") as last:
        last.write("saved on SIGTERM")
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "partial.txt"), "w") as partial:
        partial.write("the model so far")
    sys.exit(0)

signal.signal(signal.SIGTERM, last_words)
print("waiting for SIGTERM", flush=True)
time.sleep(600)
'''


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    if request.param == "docker":
        request.getfixturevalue("chainer_image")
    else:
        from framework_sdk import venvs

        venvs.framework_python("chainer", "7.8.1")
    return request.param


@pytest.fixture
def work(tmp_path, backend):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text(RESUMABLE)
    (tmp_path / "code" / "patient.py").write_text(PATIENT)
    (tmp_path / "runs").mkdir()
    return tmp_path


@pytest.fixture
def session(work, backend):
    session = LocalSession(backend=backend, work_dir=str(work / "runs"), stop_grace_seconds=30)
    yield session
    session.close()
    assert list((work / "runs").iterdir()) == [], "local mode left temporary trees behind"


def chainer(session, work, entry_point="train.py", **kwargs):
    return Chainer(entry_point=entry_point, source_dir=str(work / "code"), instance_type="local",
                   framework_version="7.8.1", output_path=f"file://{work}/models", sagemaker_session=session,
                   checkpoint_s3_uri=f"file://{work}/checkpoints", **kwargs)


def lines_of(session, name):
    return session.sagemaker_client.training_jobs[name].logs.lines


@pytest.mark.parametrize("hosts", [1, 2])
def test_a_second_job_resumes_from_the_latest_snapshot(session, work, hosts):
    first = chainer(session, work, instance_count=hosts, hyperparameters={"epochs": 2})
    first.fit(logs=False)
    assert first.describe()["TrainingJobStatus"] == "Completed"
    folders = [work / "checkpoints"] if hosts == 1 else [work / "checkpoints" / f"algo-{i}" for i in (1, 2)]
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == ["snapshot_epoch_1", "snapshot_epoch_2"]

    second = chainer(session, work, instance_count=hosts, hyperparameters={"epochs": 3})
    second.fit(logs=False)
    lines = lines_of(session, second.latest_training_job.name)
    for host in [f"algo-{i}" for i in range(1, hosts + 1)]:  # two Chainer hosts: MPI ranks, tagged per host
        said = [line.split(" | ", 1)[1].removeprefix(f"[{host} rank {int(host[-1]) - 1}] ") for line in lines
                if (hosts == 1 and line.startswith(f"{host} | ")) or f"[{host} rank" in line]
        assert "resumed from snapshot_epoch_2 at epoch 2" in said, "\n".join(lines)
        assert "finished at epoch 3" in said
    for folder in folders:
        assert "snapshot_epoch_3" in {p.name for p in folder.iterdir()}


def test_stop_training_job_gives_sigterm_keeps_checkpoints_and_packages_the_model(session, work, backend):
    import tarfile

    from framework_sdk.local.storage import local_path

    estimator = chainer(session, work, entry_point="patient.py", instance_count=1)
    estimator.fit(wait=False)
    job = session.sagemaker_client.training_jobs[estimator.latest_training_job.name]
    for line in job.logs.follow():
        if "waiting for SIGTERM" in line:
            break
    started = time.monotonic()
    estimator.stop_training_job()
    assert estimator.describe()["TrainingJobStatus"] in ("Stopping", "Stopped")
    description = session.wait_for_job(job.name)
    elapsed = time.monotonic() - started
    print(f"\n[measure] {backend}: stop_training_job() to Stopped in {elapsed:.2f}s")
    assert description["TrainingJobStatus"] == "Stopped"
    assert elapsed < 20  # the script honours SIGTERM at once: no grace period waited out
    assert (work / "checkpoints" / "last.txt").read_text() == "saved on SIGTERM"
    with tarfile.open(local_path(description["ModelArtifacts"]["S3ModelArtifacts"])) as archive:
        assert archive.extractfile("partial.txt").read() == b"the model so far"


def test_max_run_stops_the_job(session, work):
    estimator = chainer(session, work, entry_point="patient.py", instance_count=1, max_run=3)
    estimator.fit(logs=False)
    description = estimator.describe()
    assert (description["TrainingJobStatus"], description["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert (work / "checkpoints" / "last.txt").read_text() == "saved on SIGTERM"


SERVE = '''
def model_fn(model_dir):
    return "model"

def predict_fn(data, model):
    return data
'''

CLIENT = '''
import sys, time
from framework_sdk import LocalSession
from framework_sdk.chainer import Chainer, ChainerModel
work, backend = sys.argv[1], sys.argv[2]
session = LocalSession(backend=backend, work_dir=work + "/runs")
Chainer(entry_point="patient.py", source_dir=work + "/code", instance_type="local", framework_version="7.8.1",
        instance_count=1, output_path=f"file://{work}/models", sagemaker_session=session).fit(wait=False)
ChainerModel(f"file://{work}/model.tar.gz", entry_point="serve.py", source_dir=work + "/code",
             framework_version="7.8.1", sagemaker_session=session).deploy(1, "local")
print("serving and training", flush=True)
time.sleep(600)
'''


def processes_under(folder):
    """Pids of processes whose SAGEMAKER_BASE_DIR lies in ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if f"SAGEMAKER_BASE_DIR={folder}".encode() in (entry / "environ").read_bytes():
                found.append(entry.name)
        except OSError:
            continue
    return found


def owned_by(pid):
    """Containers and networks of the local-mode Python ``pid``."""
    import docker

    client = docker.from_env()
    label = {"label": "framework-sdk.owner"}
    return ([c.name for c in client.containers.list(all=True, filters=label)
             if c.labels["framework-sdk.owner"].startswith(f"{pid}:")]
            + [n.name for n in client.networks.list(filters=label)
               if n.attrs["Labels"]["framework-sdk.owner"].startswith(f"{pid}:")])


def left_by(child, work, backend):
    return (list((work / "runs").iterdir()) + processes_under(work / "runs")
            + (owned_by(child.pid) if backend == "docker" else []))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_client_leaves_nothing_behind(work, backend, sig):
    import tarfile

    (work / "code" / "serve.py").write_text(SERVE)
    with tarfile.open(work / "model.tar.gz", "w:gz") as archive:
        archive.add(work / "code" / "serve.py", arcname="unused.txt")
    child = subprocess.Popen([sys.executable, "-c", CLIENT, str(work), backend], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        for line in child.stdout:
            seen.append(line)
            if "serving and training" in line:
                break
        assert len(left_by(child, work, backend)) >= 2, "".join(seen)  # a job's host and an endpoint's
        child.send_signal(sig)
        child.wait(timeout=90)
    finally:
        child.kill()
        child.wait()
    if sig == signal.SIGKILL:  # no handler ran: the next session removes what the dead one left
        assert left_by(child, work, backend) != []
        LocalSession(backend=backend, work_dir=str(work / "runs"))
    assert left_by(child, work, backend) == []
    assert registry.lookup("never-mind") is None and all(e["pid"] != child.pid for e in registry.running())
