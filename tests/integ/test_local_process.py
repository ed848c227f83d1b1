"""Local mode on the process backend (no Docker): the toolkit runs as child processes of this one.

The framework image name ``framework-sdk-python:3.11-cpu-py3`` stands for the cached virtual
environment of framework_sdk.venvs (built once, ~1 min, then reused).
"""
import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path

import pytest

from framework_sdk import Estimator, LocalSession
from framework_sdk.estimator import Framework
from framework_sdk.model import FrameworkModel
from framework_sdk.predictor import Predictor
from framework_sdk.exceptions import UnexpectedStatusException
from framework_sdk.local import LocalModeError
from framework_sdk.serializers import CSVDeserializer, CSVSerializer

TRAIN = '''
import json, os, sys, time
import numpy as np
host = os.environ["SM_CURRENT_HOST"]
rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", 0))
size = int(os.environ.get("OMPI_COMM_WORLD_SIZE", 1))
hps = json.loads(os.environ["SM_HPS"])
print(f"training started on {host} rank {rank} of {size}", flush=True)
if hps.get("fail_on") == host:
    sys.exit(f"refusing to train on {host}")
time.sleep(float(hps.get("sleep", 0)))
channel = os.environ["SM_CHANNEL_TRAIN"]
rows = np.loadtxt(os.path.join(channel, "train.csv"), delimiter=",", ndmin=2)
weights = np.linalg.lstsq(rows[:, :-1], rows[:, -1], rcond=None)[0]
if rank == 0 and host == json.loads(os.environ["SM_HOSTS"])[0]:
    np.save(os.path.join(os.environ["SM_MODEL_DIR"], "weights.npy"), weights)
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "run.json"), "w") as run:
        json.dump({"world_size": size}, run)
'''

INFERENCE = '''
import os
import numpy as np

def model_fn(model_dir):
    if os.environ.get("MODEL_FN_FAILS") == "1":
        raise RuntimeError("model_fn failed on purpose")
    return np.load(os.path.join(model_dir, "weights.npy"))

def predict_fn(data, model):
    return (np.asarray(data, dtype=float).reshape(-1, len(model)) @ model).reshape(-1, 1)  # one row each
'''


class ScriptModel(FrameworkModel):
    _framework_name = "python"


class Script(Framework):
    """Script mode on the generic python framework image."""

    _framework_name = "python"
    model_cls = ScriptModel
    mpi = False

    def _framework_hyperparameters(self):
        if not self.mpi:
            return {}
        return {"sagemaker_use_mpi": True, "sagemaker_process_slots_per_host": 1}


@pytest.fixture(scope="module")
def framework_python():
    """Build (or reuse) the python framework environment once, outside any timed step."""
    from framework_sdk import venvs

    return venvs.framework_python("python", "3.11")


@pytest.fixture
def work(tmp_path, monkeypatch, framework_python):
    source = tmp_path / "code"
    source.mkdir()
    (source / "train.py").write_text(TRAIN)
    (source / "inference.py").write_text(INFERENCE)
    (source / "requirements.txt").write_text("numpy>=1.21\n")  # satisfied: the cached layer installs nothing
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("".join(f"{a / 10},{a % 3},{2 * a / 10 + 3 * (a % 3)}\n" for a in range(30)))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    import tempfile

    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return tmp_path


def processes_under(folder):
    """Pids of processes whose SAGEMAKER_BASE_DIR lies in ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"SAGEMAKER_BASE_DIR={folder}".encode() in environ:
            found.append(entry.name)
    return found


def leftovers(work):
    return [p.name for p in (work / "tmp").iterdir()] + processes_under(work / "tmp")


@pytest.fixture
def session(work):
    session = LocalSession(backend="process")
    yield session
    session.close()
    assert leftovers(work) == []


def script(session, work, **kwargs):
    return Script("train.py", source_dir=str(work / "code"), framework_version="3.11", instance_type="local",
                  sagemaker_session=session, output_path=f"file://{work}/models", **kwargs)


def test_train_deploy_predict_transform(session, work, capsys):
    trainer = script(session, work, instance_count=1)
    trainer.fit({"train": f"file://{work}/data"})
    assert "algo-1 | training started on algo-1 rank 0 of 1" in capsys.readouterr().out
    with tarfile.open(trainer.model_data[len("file://"):]) as archive:
        assert "weights.npy" in archive.getnames()

    model = trainer.create_model(entry_point="inference.py", source_dir=str(work / "code"))
    predictor = model.deploy(initial_instance_count=2, instance_type="local",
                             serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        result = predictor.predict([[1, 1], [0, 2]])
        assert [float(row[0]) for row in result] == pytest.approx([5.0, 6.0])
        with pytest.raises(Exception, match="ModelError"):
            session.sagemaker_runtime_client.invoke_endpoint(
                EndpointName=predictor.endpoint_name, Body=b"not,numbers", ContentType="text/csv")
        assert [float(row[0]) for row in predictor.predict([[1, 0]])] == pytest.approx([2.0])
        # Another session reaches the endpoint by its name.
        other = Predictor(predictor.endpoint_name, sagemaker_session=LocalSession(backend="process"),
                          serializer=CSVSerializer(), deserializer=CSVDeserializer())
        assert [float(row[0]) for row in other.predict([[1, 0]])] == pytest.approx([2.0])
        # Servers killed behind local mode's back: a ModelError that says so, not a raw connection error.
        for host in session.local_endpoint(predictor.endpoint_name).hosts:
            os.killpg(host.process.pid, signal.SIGKILL)
            host.wait(10)
        with pytest.raises(Exception, match="ModelError.*did not answer.*it may have stopped"):
            predictor.predict([[1, 0]])
    finally:
        predictor.delete_endpoint()
    with pytest.raises(Exception, match="ValidationException.*does not exist"):
        other.predict([[1, 0]])

    (work / "batch").mkdir()
    (work / "batch" / "rows.csv").write_text("".join(f"{i},1\n" for i in range(40)))
    transformer = model.transformer(instance_count=1, instance_type="local", assemble_with="Line",
                                    output_path=f"file://{work}/predictions", accept="text/csv",
                                    strategy="MultiRecord", max_payload=1, max_concurrent_transforms=2)
    transformer.transform(f"file://{work}/batch", content_type="text/csv", split_type="Line")
    lines = (work / "predictions" / "rows.csv.out").read_text().split()
    assert [float(v) for v in lines] == pytest.approx([2 * i + 3 for i in range(40)])


def test_two_host_mpi_job_runs_every_rank_here(session, work, capsys):
    trainer = script(session, work, instance_count=2)
    trainer.mpi = True
    trainer.fit({"train": f"file://{work}/data"})
    out = capsys.readouterr().out
    assert "of 2" in out
    with tarfile.open(trainer.model_data[len("file://"):]) as archive:
        assert json.load(archive.extractfile("run.json")) == {"world_size": 2}


def test_one_host_failing_stops_the_other(session, work):
    trainer = script(session, work, instance_count=2, hyperparameters={"fail_on": "algo-2", "sleep": 60})
    started = time.monotonic()
    with pytest.raises(UnexpectedStatusException) as failure:
        trainer.fit({"train": f"file://{work}/data"}, logs=False)
    assert time.monotonic() - started < 30
    assert "host algo-2 exited with code 1" in str(failure.value)
    assert "refusing to train on algo-2" in str(failure.value)


def test_model_fn_failure_fails_deploy_with_the_traceback(session, work):
    trainer = script(session, work, instance_count=1)
    trainer.fit({"train": f"file://{work}/data"}, logs=False)
    model = trainer.create_model(entry_point="inference.py", source_dir=str(work / "code"),
                                 env={"MODEL_FN_FAILS": "1"})
    with pytest.raises(UnexpectedStatusException) as failure:
        model.deploy(initial_instance_count=1, instance_type="local")
    assert "model_fn failed on purpose" in str(failure.value)
    assert "Traceback" in str(failure.value)


def test_bring_your_own_image_needs_docker(session, work):
    trainer = Estimator("my-team/byo:latest", instance_type="local", instance_count=1, sagemaker_session=session,
                        output_path=f"file://{work}/models")
    with pytest.raises(LocalModeError, match="process backend cannot run image 'my-team/byo:latest'.*docker"):
        trainer.fit({"train": f"file://{work}/data"})


def test_ctrl_c_mid_job_leaves_nothing(work):
    program = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_local_process import Script
        from framework_sdk import LocalSession
        Script("train.py", source_dir={str(work / 'code')!r}, framework_version="3.11", instance_type="local",
               instance_count=2, sagemaker_session=LocalSession(backend="process"),
               output_path="file://{work}/models", hyperparameters={{"sleep": 120}},
               ).fit({{"train": "file://{work}/data"}})
    """)
    child = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=dict(os.environ, TMPDIR=str(work / "tmp")), text=True)
    try:
        seen = []
        for line in child.stdout:
            seen.append(line)
            if sum("training started" in item for item in seen) == 2:
                break
        assert len(processes_under(work / "tmp")) >= 2, "".join(seen)
        child.send_signal(signal.SIGINT)
        output = child.communicate(timeout=60)[0]
    finally:
        child.kill()
    assert child.returncode != 0 and "KeyboardInterrupt" in output
    assert leftovers(work) == []


def test_fit_without_waiting_then_attach_logs_and_wait(session, work, capsys):
    trainer = script(session, work, instance_count=1, hyperparameters={"sleep": 1})
    started = time.monotonic()
    trainer.fit({"train": f"file://{work}/data"}, wait=False)
    assert time.monotonic() - started < 1.0  # returns at once
    name = trainer.latest_training_job.name
    assert trainer.describe()["TrainingJobStatus"] == "InProgress"
    attached = Script.attach(name, sagemaker_session=session)  # follows the running job's logs to its end
    assert "algo-1 | training started on algo-1" in capsys.readouterr().out
    assert attached.model_data.endswith(f"/{name}/output/model.tar.gz")
    trainer.logs()
    trainer.wait()
    assert "algo-1 | training started on algo-1" in capsys.readouterr().out
    assert trainer.model_data == attached.model_data


def test_endpoints_left_running_stop_when_python_exits(work):
    program = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_local_process import Script
        from framework_sdk import LocalSession
        trainer = Script("train.py", source_dir={str(work / 'code')!r}, framework_version="3.11",
                         instance_type="local", instance_count=1, sagemaker_session=LocalSession(backend="process"),
                         output_path="file://{work}/models")
        trainer.fit({{"train": "file://{work}/data"}}, logs=False)
        predictor = trainer.create_model(entry_point="inference.py", source_dir={str(work / 'code')!r}).deploy(
            initial_instance_count=2, instance_type="local")
        print("serving", *trainer.sagemaker_session.local_endpoint(predictor.endpoint_name).urls)
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TMPDIR=str(work / "tmp")))
    assert done.returncode == 0, done.stdout + done.stderr
    urls = done.stdout.split("serving", 1)[1].split()
    assert len(urls) == 2
    assert leftovers(work) == []
    import urllib.request

    for url in urls:
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{url}/ping", timeout=2)


def test_another_process_invokes_an_endpoint_by_name(session, work):
    trainer = script(session, work, instance_count=1)
    trainer.fit({"train": f"file://{work}/data"}, logs=False)
    predictor = trainer.create_model(entry_point="inference.py", source_dir=str(work / "code")).deploy(
        initial_instance_count=1, instance_type="local")
    program = textwrap.dedent(f"""
        from framework_sdk import LocalSession
        from framework_sdk.predictor import Predictor
        from framework_sdk.serializers import CSVDeserializer, CSVSerializer
        print(Predictor({predictor.endpoint_name!r}, sagemaker_session=LocalSession(backend="process"),
                        serializer=CSVSerializer(), deserializer=CSVDeserializer()).predict([[1, 1]]))
    """)
    try:
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    finally:
        predictor.delete_endpoint()
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip().strip("[]'\"")) == pytest.approx(5.0)


def test_another_session_of_this_process_attaches_and_invokes(session, work):
    trainer = script(session, work, instance_count=1, hyperparameters={"sleep": 1})
    trainer.fit({"train": f"file://{work}/data"}, wait=False)
    other = LocalSession(backend="process")  # as SageMaker v2's local sessions, they share jobs and endpoints
    attached = Script.attach(trainer.latest_training_job.name, sagemaker_session=other)
    assert attached.model_data.endswith("/output/model.tar.gz")
    predictor = trainer.create_model(entry_point="inference.py", source_dir=str(work / "code")).deploy(
        initial_instance_count=1, instance_type="local", serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        reused = Predictor(predictor.endpoint_name, sagemaker_session=other, serializer=CSVSerializer(),
                           deserializer=CSVDeserializer())
        assert [float(row[0]) for row in reused.predict([[1, 0]])] == pytest.approx([2.0])
        assert other.describe_endpoint(predictor.endpoint_name)["EndpointStatus"] == "InService"
        other.close()  # stops only what `other` started
        assert [float(row[0]) for row in predictor.predict([[1, 0]])] == pytest.approx([2.0])
    finally:
        predictor.delete_endpoint()


def test_a_local_endpoints_error_points_at_its_local_log(session, work):
    import io
    import threading

    trainer = script(session, work, instance_count=1)
    trainer.fit({"train": f"file://{work}/data"}, logs=False)
    predictor = trainer.create_model(entry_point="inference.py", source_dir=str(work / "code")).deploy(
        initial_instance_count=1, instance_type="local", serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        with pytest.raises(Exception, match="ModelError") as failure:
            predictor.predict([[1, 2, 3]])  # three values for a model of two weights: predict_fn raises
        message = str(failure.value)
        assert "CloudWatch" not in message
        assert f"session.logs_for_endpoint({predictor.endpoint_name!r}) prints it" in message
        logged = threading.Event()  # the traceback reaches the log book through the server's output pipe

        def watch():
            for line in session.sagemaker_client.endpoints[predictor.endpoint_name].servers.logs.follow():
                if "ValueError" in line:
                    return logged.set()

        threading.Thread(target=watch, daemon=True).start()
        assert logged.wait(30)
        out = io.StringIO()
        lines = session.logs_for_endpoint(predictor.endpoint_name, out=out)
        assert any(line.startswith("algo-1 | ") and "ValueError" in line for line in lines)
        assert out.getvalue() == "".join(line + "\n" for line in lines)
    finally:
        predictor.delete_endpoint()
    with pytest.raises(LocalModeError, match="no local endpoint of that name runs on this machine"):
        session.logs_for_endpoint("fsdk-no-such-endpoint")
