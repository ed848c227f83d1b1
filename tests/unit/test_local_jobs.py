"""Local job, endpoint and transform logic against a scripted in-memory backend (no processes)."""
import json
import queue
import threading

import pytest

from framework_sdk.local import runs, transform
from framework_sdk.local.backends.base import Backend, Host
from framework_sdk.local.backends.process import ProcessBackend, parse_framework_image
from framework_sdk.local.errors import LocalModeError
from framework_sdk.local.storage import Storage, local_path
from framework_sdk.local.training import TrainingJob


class ScriptedHost(Host):
    """Prints ``lines``; exits with ``code`` at once, or when stopped if ``code`` is None."""

    def __init__(self, spec, lines, code, on_line, on_exit):
        super().__init__(spec, on_line, on_exit)
        self.lines, self.code, self.stopped = lines, code, threading.Event()

    def _stream(self):
        yield from self.lines
        if self.code is None:
            self.stopped.wait(10)

    def _exit_status(self):
        return (-15, "") if self.code is None else (self.code, "")

    def _terminate(self, grace):
        self.stopped.set()


class ScriptedBackend(Backend):
    name = "scripted"

    def __init__(self, plan):
        self.plan = plan  # host name -> (lines, exit code or None, files to write)
        self.started = []

    def base_dir(self, spec):
        return "/opt/ml"

    def check_image(self, image):
        if image == "missing":
            raise LocalModeError("image missing is not here")

    def start(self, group, image, specs, *, gpu=False, on_line=None, on_exit=None):
        hosts = []
        for spec in specs:
            lines, code, files = self.plan[spec.name]
            for relative, text in files.items():
                (spec.root / relative).write_text(text)
            host = ScriptedHost(spec, lines, code, on_line, on_exit)
            host.watch()
            hosts.append(host)
        self.started += hosts
        return hosts


def request(tmp_path, count=1, **extra):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "a.csv").write_text("1,2\n")
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    return {"TrainingJobName": "job-1",
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "HyperParameters": {"sagemaker_submit_directory": json.dumps(f"file://{code}"), "lr": "0.1"},
            "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv",
                                 "DataSource": {"S3DataSource": {"S3Uri": f"file://{data}"}}}],
            "OutputDataConfig": {"S3OutputPath": f"file://{tmp_path}/out"},
            "ResourceConfig": {"InstanceType": "local", "InstanceCount": count}, **extra}


def run(job):
    job.start()
    assert job.done.wait(10)
    return job.describe()


def test_completed_job_writes_the_contract_and_artifacts(tmp_path):
    seen = {}

    class Recording(ScriptedBackend):
        def start(self, group, image, specs, **kwargs):
            for spec in specs:
                config = spec.root / "input" / "config"
                seen[spec.name] = {name: json.loads((config / f"{name}.json").read_text())
                                   for name in ("hyperparameters", "resourceconfig", "inputdataconfig")}
                seen[spec.name]["links"] = [(str(p), r) for p, r in spec.links]
            return super().start(group, image, specs, **kwargs)

    backend = Recording({"algo-1": (["hi"], 0, {"model/m.txt": "weights", "output/data/x.txt": "x"}),
                         "algo-2": ([], 0, {"model/m.txt": "other"})})
    description = run(TrainingJob(request(tmp_path, 2), backend, Storage(), work_dir=tmp_path))
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    first = seen["algo-1"]
    assert first["hyperparameters"] == {"sagemaker_submit_directory": '"/opt/ml/code"', "lr": "0.1"}
    assert first["resourceconfig"]["hosts"] == ["algo-1", "algo-2"]
    assert seen["algo-2"]["resourceconfig"]["current_host"] == "algo-2"
    assert first["inputdataconfig"]["train"]["ContentType"] == "text/csv"
    assert (str(tmp_path / "data"), "input/data/train") in first["links"]
    assert (str(tmp_path / "code"), "code") in first["links"]
    model = local_path(description["ModelArtifacts"]["S3ModelArtifacts"])
    assert model == tmp_path / "out" / "job-1" / "output" / "model.tar.gz"
    import tarfile

    with tarfile.open(model) as archive:
        assert archive.extractfile("m.txt").read() == b"weights"  # algo-1's file wins
    assert (model.parent / "output.tar.gz").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(runs.ROOT_PREFIX)] == []


def test_a_failing_host_stops_the_others_and_is_reported(tmp_path):
    backend = ScriptedBackend({"algo-1": (["waiting"], None, {}),
                               "algo-2": (["step 1", "boom"], 2, {"output/failure": "ValueError: bad"})})
    description = run(TrainingJob(request(tmp_path, 2), backend, Storage(), work_dir=tmp_path))
    reason = description["FailureReason"]
    assert description["TrainingJobStatus"] == "Failed"
    assert "host algo-2 exited with code 2" in reason
    assert "ValueError: bad" in reason and "step 1\nboom" in reason
    assert backend.started[0].stopped.is_set()


def test_stop_ends_the_job_as_stopped(tmp_path):
    backend = ScriptedBackend({"algo-1": (["running"], None, {})})
    job = TrainingJob(request(tmp_path), backend, Storage(), work_dir=tmp_path).start()
    assert next(job.logs.follow()) == "algo-1 | running"
    job.stop()
    assert job.describe()["TrainingJobStatus"] == "Stopped"


def test_max_runtime_is_enforced(tmp_path):
    backend = ScriptedBackend({"algo-1": ([], None, {})})
    job = TrainingJob(request(tmp_path, StoppingCondition={"MaxRuntimeInSeconds": 0}), backend, Storage(),
                      work_dir=tmp_path)
    assert "MaxRuntimeInSeconds=0" in run(job)["FailureReason"]


def test_missing_inputs_and_images_fail_clearly(tmp_path):
    job_request = request(tmp_path)
    job_request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "file:///no/such/folder"
    description = run(TrainingJob(job_request, ScriptedBackend({}), Storage(), work_dir=tmp_path))
    assert "file:///no/such/folder does not exist" in description["FailureReason"]
    job_request = request(tmp_path)
    job_request["AlgorithmSpecification"]["TrainingImage"] = "missing"
    with pytest.raises(LocalModeError, match="image missing"):
        TrainingJob(job_request, ScriptedBackend({}), Storage()).start()


def test_log_book_follows_live():
    book, lines = runs.LogBook(), queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in book.follow()])
    reader.start()
    book.add("a")
    assert lines.get(timeout=5) == "a"
    book.add("b")
    book.close()
    reader.join(5)
    assert lines.get(timeout=5) == "b" and not reader.is_alive()


def test_records_are_split_packed_and_assembled():
    records = transform.split_records(b"1,2\n\n3,4\n5,6", "Line")
    assert records == [b"1,2", b"3,4", b"5,6"]
    assert transform.pack(records, "MultiRecord", 7, "f") == [b"1,2\n3,4", b"5,6"]
    assert transform.pack(records, "SingleRecord", 100, "f") == records
    assert transform.split_records(b"whole", "None") == [b"whole"]
    assert transform.assemble([b"1\n2", b"3\n"], "Line") == b"1\n2\n3\n"
    with pytest.raises(LocalModeError, match="record 1 of f is 3 bytes, more than MaxPayloadInMB"):
        transform.pack(records, "MultiRecord", 2, "f")
    with pytest.raises(LocalModeError, match="SplitType 'RecordIO' is not supported"):
        transform.split_records(b"x", "RecordIO")


def test_framework_images_map_to_environments_and_byo_images_are_refused():
    assert parse_framework_image("framework-sdk-chainer:7.8.1-cpu-py3") == ("chainer", "7.8.1")
    assert parse_framework_image("1.dkr.ecr.us-east-1.amazonaws.com/framework-sdk-python:3.11-cpu-py3") == (
        "python", "3.11")
    assert parse_framework_image("my/byo:1") is None
    with pytest.raises(LocalModeError, match="process backend cannot run image 'my/byo:1'.*docker backend"):
        ProcessBackend().check_image("my/byo:1")
    assert ProcessBackend(python="/usr/bin/python3").python_for("my/byo:1") == "/usr/bin/python3"


def test_storage_refuses_other_schemes(tmp_path):
    with pytest.raises(LocalModeError, match="file:// or s3://"):
        Storage().fetch("http://example.com/data", tmp_path)
    assert local_path("file:///a%20b/c") == local_path("/a b/c")


class LayeringBackend(ScriptedBackend):
    """Installs requirements as the docker backend does for a framework image: another image to run."""

    def __init__(self, plan):
        super().__init__(plan)
        self.layered, self.ran = [], []

    def requirements_layer(self, image, requirements_file, on_line=None):
        self.layered.append((image, requirements_file.read_text()))
        on_line("installing once")
        return "img-with-requirements", {"FRAMEWORK_SDK_REQUIREMENTS_INSTALLED": "1"}

    def start(self, group, image, specs, **kwargs):
        self.ran.append((image, specs[0].environment))
        return super().start(group, image, specs, **kwargs)


def test_code_requirements_are_installed_once_by_the_backend(tmp_path):
    backend = LayeringBackend({"algo-1": ([], 0, {})})
    job_request = request(tmp_path, Environment={"PYTHONPATH": "/mine"})
    (tmp_path / "code" / "requirements.txt").write_text("six\n")
    job = TrainingJob(job_request, backend, Storage(), work_dir=tmp_path)
    assert run(job)["TrainingJobStatus"] == "Completed"
    assert backend.layered == [("img", "six\n")]
    image, environment = backend.ran[0]
    assert image == "img-with-requirements" and job.describe()["AlgorithmSpecification"]["TrainingImage"] == "img"
    assert environment["FRAMEWORK_SDK_REQUIREMENTS_INSTALLED"] == "1"
    assert environment["PYTHONPATH"] == "/mine"  # the job's own, untouched: a layer is never on PYTHONPATH
    assert "[framework-sdk] installing once" in job.logs.lines


def test_no_layer_for_a_project_the_toolkit_pip_installs(tmp_path):
    backend = LayeringBackend({"algo-1": ([], 0, {})})
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "requirements.txt").write_text("six\n")
    (tmp_path / "code" / "setup.py").write_text("")
    assert run(TrainingJob(request(tmp_path), backend, Storage(), work_dir=tmp_path))["TrainingJobStatus"] == "Completed"
    assert backend.layered == [] and backend.ran[0][0] == "img"


def test_a_failed_job_says_failed_once(tmp_path):
    from framework_sdk.exceptions import UnexpectedStatusException
    from framework_sdk.local.session import _check

    backend = ScriptedBackend({"algo-1": (["boom"], 3, {})})
    description = run(TrainingJob(request(tmp_path), backend, Storage(), work_dir=tmp_path))
    with pytest.raises(UnexpectedStatusException) as failure:
        _check("job-1", description, "TrainingJobStatus")
    message = str(failure.value)
    assert message.startswith("local training job 'job-1' failed: host algo-1 exited with code 3")
    assert message.count("failed") == 1 and message.count("job-1") == 1


def test_code_on_s3_is_fetched_once_and_its_requirements_installed(tmp_path):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in {"train.py": b"", "requirements.txt": b"from-s3\n"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))

    class S3Code(Storage):
        def fetch(self, uri, destination):
            if not uri.startswith("s3://"):
                return super().fetch(uri, destination)
            destination.mkdir(parents=True)
            (destination / "sourcedir.tar.gz").write_bytes(buffer.getvalue())
            return destination

    seen = {}

    class Recording(LayeringBackend):
        def start(self, group, image, specs, **kwargs):
            config = specs[0].root / "input" / "config" / "hyperparameters.json"
            seen.update(json.loads(config.read_text()), links=[r for _, r in specs[0].links])
            return super().start(group, image, specs, **kwargs)

    backend = Recording({"algo-1": ([], 0, {})})
    job_request = request(tmp_path)
    job_request["HyperParameters"]["sagemaker_submit_directory"] = json.dumps("s3://b/code/sourcedir.tar.gz")
    assert run(TrainingJob(job_request, backend, S3Code(), work_dir=tmp_path))["TrainingJobStatus"] == "Completed"
    assert seen["sagemaker_submit_directory"] == '"/opt/ml/code-archive/sourcedir.tar.gz"'
    assert "code-archive/sourcedir.tar.gz" in seen["links"]
    assert backend.layered == [("img", "from-s3\n")]


def test_process_backend_checks_the_image_at_once_and_builds_its_environment_in_the_job(monkeypatch):
    from framework_sdk import venvs

    built = []
    monkeypatch.setattr(venvs, "framework_python", lambda *spec: built.append(spec) or "/venv/bin/python")
    backend = ProcessBackend()
    backend.check_image("framework-sdk-chainer:7.8.1-cpu-py3")  # fit(wait=False) returns without building
    assert built == []
    assert backend.python_for("framework-sdk-chainer:7.8.1-cpu-py3") == "/venv/bin/python"
    assert built == [("chainer", "7.8.1")]


@pytest.mark.parametrize("log_type, expected", [
    ("All", ["algo-1 | epoch 1: loss 0.5", "{name}: Completed"]),
    ("Training", ["algo-1 | epoch 1: loss 0.5", "{name}: Completed"]),
    ("Rules", ["{name}: Completed"]),  # local jobs run no Debugger or Profiler rules
    ("None", []),
    (False, []),
])
def test_local_logs_for_job_prints_what_log_type_names(tmp_path, log_type, expected):
    import io
    import uuid

    from framework_sdk.local import LocalSession

    session = LocalSession(backend="process")
    session.sagemaker_client.backend = ScriptedBackend({"algo-1": (["epoch 1: loss 0.5"], 0, {})})
    name = f"logs-{uuid.uuid4().hex[:8]}"
    session.sagemaker_client.create_training_job(**request(tmp_path, TrainingJobName=name))
    out = io.StringIO()
    try:
        description = session.logs_for_job(name, wait=True, log_type=log_type, out=out)
    finally:
        session.close()
    assert description["TrainingJobStatus"] == "Completed"
    assert out.getvalue().splitlines() == [line.format(name=name) for line in expected]


def test_local_logs_for_job_refuses_an_unknown_log_type(tmp_path):
    from framework_sdk.exceptions import ConfigurationError
    from framework_sdk.local import LocalSession

    with pytest.raises(ConfigurationError, match="log_type='Everything' is not one of 'All', 'Training', 'Rules'"):
        LocalSession(backend="process").logs_for_job("any-job", log_type="Everything")
