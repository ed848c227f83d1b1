"""Checkpoints and stopping of local training jobs, against the scripted in-memory backend (no processes)."""
import threading
import time

from framework_sdk.local import checkpoints
from framework_sdk.local.storage import Storage, local_path
from framework_sdk.local.training import TrainingJob
from test_local_jobs import ScriptedBackend, ScriptedHost, request, run


class Writing(ScriptedBackend):
    """Hosts write into their checkpoint folder (named in the environment) while they run, then wait to be stopped."""

    def __init__(self, plan, writes):
        super().__init__(plan)
        self.writes = writes  # host name -> {relative name: text}
        self.seen = {}

    def writable_folder(self, spec, folder, path):
        return str(folder)

    def start(self, group, image, specs, **kwargs):
        for spec in specs:
            folder = spec.root.parent / spec.name / checkpoints.relative_folder("/opt/ml/checkpoints")
            assert spec.environment[checkpoints.ENV] == str(folder)
            self.seen[spec.name] = sorted(p.name for p in folder.iterdir())
            for name, text in self.writes.get(spec.name, {}).items():
                (folder / name).write_text(text)
        return super().start(group, image, specs, **kwargs)


def checkpointed(tmp_path, count=1, **extra):
    return request(tmp_path, count, CheckpointConfig={"S3Uri": f"file://{tmp_path}/ck"}, **extra)


def test_checkpoints_are_seeded_and_copied_back_while_the_job_runs(tmp_path, monkeypatch):
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "old.npz").write_text("from the last job")
    backend = Writing({"algo-1": (["training"], None, {})}, {"algo-1": {"new.npz": "step 1"}})
    job = TrainingJob(checkpointed(tmp_path), backend, Storage(), work_dir=tmp_path)
    for sync in job.checkpoints:
        sync.interval = 0.1
    job.start()
    deadline = time.monotonic() + 10
    while not (tmp_path / "ck" / "new.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert backend.seen["algo-1"] == ["old.npz"]  # seeded before the program started
    assert (tmp_path / "ck" / "new.npz").read_text() == "step 1"  # copied while it still runs
    assert job.describe()["TrainingJobStatus"] == "InProgress"
    job.stop()
    assert job.describe()["TrainingJobStatus"] == "Stopped"
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["new.npz", "old.npz"]


def test_hosts_keep_their_checkpoints_apart(tmp_path):
    backend = Writing({"algo-1": ([], 0, {}), "algo-2": ([], 0, {})},
                      {"algo-1": {"s.npz": "one"}, "algo-2": {"s.npz": "two"}})
    description = run(TrainingJob(checkpointed(tmp_path, 2), backend, Storage(), work_dir=tmp_path))
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    assert (tmp_path / "ck" / "algo-1" / "s.npz").read_text() == "one"
    assert (tmp_path / "ck" / "algo-2" / "s.npz").read_text() == "two"


def test_the_uri_ends_with_exactly_the_folders_files(tmp_path):
    storage = Storage()
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "gone.npz").write_text("old")
    sync = checkpoints.CheckpointSync(storage, f"file://{tmp_path}/ck", tmp_path / "folder")
    assert sync.seed() == 1
    (tmp_path / "folder" / "gone.npz").unlink()
    (tmp_path / "folder" / "kept.npz").write_text("new")
    sync.finish()
    assert [p.name for p in (tmp_path / "ck").iterdir()] == ["kept.npz"]


class SlowToStop(ScriptedHost):
    """Ends ``delay`` seconds after SIGTERM, as a script saving a last checkpoint does."""

    delay = 0.5

    def _terminate(self, grace):
        self.grace = grace
        threading.Timer(min(self.delay, grace), self.stopped.set).start()


class SlowBackend(ScriptedBackend):
    def start(self, group, image, specs, *, gpu=False, on_line=None, on_exit=None):
        hosts = []
        for spec in specs:
            (spec.root / "model" / "partial.txt").write_text("so far")
            host = SlowToStop(spec, ["running"], None, on_line, on_exit)
            host.watch()
            hosts.append(host)
        self.started += hosts
        return hosts


def test_stop_training_job_goes_stopping_then_stopped_with_the_model_so_far(tmp_path):
    backend = SlowBackend({})
    job = TrainingJob(request(tmp_path), backend, Storage(), work_dir=tmp_path, stop_grace=7).start()
    assert next(job.logs.follow()) == "algo-1 | running"
    job.stop(wait=False)  # what StopTrainingJob does: returns at once
    assert job.describe()["TrainingJobStatus"] == "Stopping"
    assert job.done.wait(10)
    description = job.describe()
    assert (description["TrainingJobStatus"], description["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert backend.started[0].grace == 7
    assert local_path(description["ModelArtifacts"]["S3ModelArtifacts"]).is_file()
    assert description["BillableTimeInSeconds"] == description["TrainingTimeInSeconds"] >= 1


def test_max_run_stops_the_job_as_sagemaker_does(tmp_path):
    backend = SlowBackend({})
    job = TrainingJob(request(tmp_path, StoppingCondition={"MaxRuntimeInSeconds": 1}), backend, Storage(),
                      work_dir=tmp_path)
    description = run(job)
    assert (description["TrainingJobStatus"], description["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert "MaxRuntimeInSeconds=1" in description["FailureReason"]
    assert backend.started[0].grace == 120  # SageMaker's grace by default
    assert "ModelArtifacts" in description


def test_a_temporary_folder_copied_mid_write_is_gone_at_the_end(tmp_path):
    sync = checkpoints.CheckpointSync(Storage(), f"file://{tmp_path}/ck", tmp_path / "folder")
    sync.seed()
    (tmp_path / "folder" / "tmpsnap").mkdir()
    (tmp_path / "folder" / "tmpsnap" / "snap_1").write_text("half")
    sync.sync()  # copied while the script was writing it
    (tmp_path / "folder" / "tmpsnap" / "snap_1").rename(tmp_path / "folder" / "snap_1")
    (tmp_path / "folder" / "tmpsnap").rmdir()
    sync.finish()
    assert [p.name for p in (tmp_path / "ck").iterdir()] == ["snap_1"]
