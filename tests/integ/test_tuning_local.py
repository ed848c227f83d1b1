"""Local hyperparameter tuning on the process backend: real training jobs (child processes) driven by the engine.

The script trains nothing: it logs ``accuracy=<x * epoch / epochs>`` per epoch for the tuned
``x``, and misbehaves on request (``mode``: fail, or complete without logging the objective;
pause after an epoch so a job is still running when it is stopped). It runs in the python
framework environment (built once, then reused). Tuning job records go to a per-test state dir.
"""
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from framework_sdk import LocalSession
from framework_sdk.estimator import Framework
from framework_sdk.exceptions import AWSError, UnexpectedStatusException
from framework_sdk.tuner import (CategoricalParameter, ContinuousParameter, HyperbandStrategyConfig,
                                 HyperparameterTuner, StrategyConfig, WarmStartConfig, WarmStartTypes)
from test_local_process import leftovers, processes_under  # the process backend's leftovers checks

TRAIN = '''
import json, os, sys, time
hps = json.loads(os.environ["SM_HPS"])
mode, x, epochs = hps.get("mode", "ok"), float(hps.get("x", 0.5)), int(hps.get("epochs", 3))
print(f"training x={x} mode={mode}", flush=True)
if mode == "fail":
    sys.exit("this mode fails on purpose")
for epoch in range(1, epochs + 1):
    if mode != "silent":
        print(f"epoch {epoch} accuracy={x * epoch / epochs:.6f}", flush=True)
    if epoch >= hps.get("pause_after", epochs + 1) and x < hps.get("pause_below", 2):
        time.sleep(60)  # a job that is still running when the tuning job stops it
open(os.path.join(os.environ["SM_MODEL_DIR"], "x.txt"), "w").write(str(x))
'''
METRICS = [{"Name": "accuracy", "Regex": r"accuracy=([0-9.]+)"}]


class Script(Framework):
    """Script mode on the generic python framework image."""

    _framework_name = "python"


@pytest.fixture(scope="module")
def framework_python():
    from framework_sdk import venvs

    return venvs.framework_python("python", "3.11")


@pytest.fixture
def work(tmp_path, monkeypatch, framework_python):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text(TRAIN)
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # tuning job records: this test's own
    return tmp_path


@pytest.fixture
def session(work):
    session = LocalSession(backend="process")
    yield session
    session.close()
    assert leftovers(work) == []


def estimator(session, work, **hyperparameters):
    return Script("train.py", source_dir=str(work / "code"), framework_version="3.11", instance_type="local",
                  instance_count=1, sagemaker_session=session, output_path=f"file://{work}/models",
                  metric_definitions=METRICS, hyperparameters=hyperparameters)


def test_grid_counts_failures_and_missing_objectives_as_sagemaker_does(session, work, capsys):
    tuner = HyperparameterTuner(estimator(session, work, x=0.7), "accuracy",
                                {"mode": CategoricalParameter(["ok", "fail", "silent"])}, strategy="Grid",
                                max_parallel_jobs=2, base_tuning_job_name="grid")
    tuner.fit()
    description = tuner.describe()
    name = description["HyperParameterTuningJobName"]
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert description["TrainingJobStatusCounters"] == {"Completed": 2, "InProgress": 0, "RetryableError": 0,
                                                        "NonRetryableError": 1, "Stopped": 0}
    assert description["ObjectiveStatusCounters"] == {"Succeeded": 1, "Pending": 0, "Failed": 2}
    summaries = {json.loads(s["TunedHyperParameters"]["mode"]): s for s in tuner.analytics().training_job_summaries()}
    assert all(re.fullmatch(rf"{name}-00[1-3]-[0-9a-f]{{8}}", s["TrainingJobName"]) for s in summaries.values())
    assert description["BestTrainingJob"]["TrainingJobName"] == summaries["ok"]["TrainingJobName"]
    assert summaries["ok"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(0.7)
    assert "this mode fails on purpose" in summaries["fail"]["FailureReason"]
    assert summaries["silent"]["TrainingJobStatus"] == "Completed"
    assert "without logging the objective metric 'accuracy'" in summaries["silent"]["FailureReason"]
    assert "accuracy=([0-9.]+)" in summaries["silent"]["FailureReason"]
    # each is a local training job like any other
    job = session.describe_training_job(summaries["ok"]["TrainingJobName"])
    assert job["ModelArtifacts"]["S3ModelArtifacts"].endswith(f"{summaries['ok']['TrainingJobName']}/output/model.tar.gz")
    assert json.loads(job["HyperParameters"]["mode"]) == "ok" and job["HyperParameters"]["x"] == "0.7"
    out = capsys.readouterr().out
    assert f"[tuning] {name}: Grid search of mode; up to 3 training jobs, 2 at a time" in out
    assert re.search(rf"\[tuning\] {name}-00\d-\w+ started: mode=\"ok\"", out)
    assert re.search(rf"\[tuning\] {name}-00\d-\w+ completed in [0-9.]+ s: accuracy = 0\.7; best so far", out)
    assert f"[tuning] {name}: Completed - 3 training jobs: 2 completed, 1 failed, 0 stopped; best:" in out
    assert "algo-1 |" not in out  # the training jobs' own lines only when asked
    frame = tuner.analytics().dataframe()
    assert len(frame) == 3 and set(frame["ObjectiveStatus"]) == {"Succeeded", "Failed"}
    # ListTrainingJobsForHyperParameterTuningJob: pages, filters and sorts as SageMaker's does
    client, names = session.sagemaker_client, []
    request = {"HyperParameterTuningJobName": name, "MaxResults": 2, "SortBy": "CreationTime"}
    while True:
        page = client.list_training_jobs_for_hyper_parameter_tuning_job(**request)
        names += [summary["TrainingJobName"] for summary in page["TrainingJobSummaries"]]
        if "NextToken" not in page:
            break
        request["NextToken"] = page["NextToken"]
    assert names == sorted(names) and len(names) == 3
    failed = client.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name,
                                                                      StatusEquals="Failed")
    assert [s["TrainingJobName"] for s in failed["TrainingJobSummaries"]] == [summaries["fail"]["TrainingJobName"]]
    ranked = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue", SortOrder="Descending")
    assert ranked["TrainingJobSummaries"][0]["TrainingJobName"] == summaries["ok"]["TrainingJobName"]


def test_the_search_stops_when_its_first_jobs_all_fail(session, work, capsys):
    tuner = HyperparameterTuner(estimator(session, work, mode="fail"), "accuracy", {"x": ContinuousParameter(0, 1)},
                                strategy="Random", max_jobs=8, max_parallel_jobs=1)
    with pytest.raises(UnexpectedStatusException, match="(?s)the first 3 training jobs all failed.*fails on purpose"):
        tuner.fit(logs=True)
    assert tuner.describe()["TrainingJobStatusCounters"]["NonRetryableError"] == 3  # not 8
    assert "algo-1 | training x=" in capsys.readouterr().out  # logs=True: the jobs' own lines too


def test_random_seed_repeats_the_search(session, work):
    def values(seed):
        tuner = HyperparameterTuner(estimator(session, work), "accuracy", {"x": ContinuousParameter(0.1, 1)},
                                    strategy="Random", max_jobs=3, max_parallel_jobs=3, random_seed=seed)
        tuner.fit()
        return sorted(s["TunedHyperParameters"]["x"] for s in tuner.analytics().training_job_summaries())

    assert values(42) == values(42) != values(43)


def test_early_stopping_stops_a_job_below_the_median_of_earlier_jobs(session, work, capsys):
    tuner = HyperparameterTuner(estimator(session, work, pause_after=1, pause_below=0.5), "accuracy",
                                {"x": CategoricalParameter([0.9, 0.8, 0.85, 0.1])}, strategy="Grid",
                                early_stopping_type="Auto", max_parallel_jobs=1)
    started = time.monotonic()
    tuner.fit()
    assert time.monotonic() - started < 40  # the weak job would sleep 60 s
    summaries = tuner.analytics().training_job_summaries()
    weak = summaries[-1]
    assert weak["TunedHyperParameters"]["x"] == "0.1" and weak["TrainingJobStatus"] == "Stopped"
    assert weak["ObjectiveStatus"] == "Succeeded"  # it logged a value before it was stopped
    assert "stopped early by tuning job" in weak["FailureReason"] and "below the median 0.283333" in weak["FailureReason"]
    assert [s["TrainingJobStatus"] for s in summaries[:3]] == ["Completed"] * 3
    assert tuner.best_training_job() == summaries[0]["TrainingJobName"]
    out = capsys.readouterr().out
    assert "stopping early: its objective 0.033333 at value 1 is below the median" in out, out


def test_hyperband_stops_every_job_at_max_resource(session, work):
    tuner = HyperparameterTuner(estimator(session, work, epochs=5, pause_after=2), "accuracy",
                                {"x": ContinuousParameter(0.1, 1)}, strategy="Hyperband", max_jobs=2,
                                max_parallel_jobs=2, random_seed=1,
                                strategy_config=StrategyConfig(HyperbandStrategyConfig(max_resource=2, min_resource=1)))
    started = time.monotonic()
    tuner.fit()
    assert time.monotonic() - started < 40
    description = tuner.describe()
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert description["TrainingJobStatusCounters"]["Stopped"] == 2
    for summary in tuner.analytics().training_job_summaries():
        assert "reached MaxResource=2" in summary["FailureReason"]
        x = float(summary["TunedHyperParameters"]["x"])
        assert summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(x * 2 / 5, abs=1e-6)


def _follow_until(run, predicate, limit=120):
    """Read the tuning job's book until ``predicate(entries)`` holds (bounded by the job's own end)."""
    seen = []
    deadline = time.monotonic() + limit
    for entry in run.book.follow():
        seen.append(entry)
        if predicate(seen) or time.monotonic() > deadline:
            return seen
    return seen


def test_stop_tuning_job_stops_the_running_jobs_and_leaves_nothing(session, work):
    tuner = HyperparameterTuner(estimator(session, work, pause_after=1), "accuracy", {"x": ContinuousParameter(0, 1)},
                                strategy="Random", max_jobs=6, max_parallel_jobs=2)
    tuner.fit(wait=False)
    run = session.sagemaker_client.hyper_parameter_tuning_jobs[tuner.latest_tuning_job.name]
    _follow_until(run, lambda seen: sum("accuracy=" in text for kind, text in seen) >= 2)
    assert len(processes_under(work / "tmp")) >= 2
    tuner.stop_tuning_job()
    description = tuner.describe()
    assert description["HyperParameterTuningJobStatus"] == "Stopped"
    assert description["TrainingJobStatusCounters"]["Stopped"] == 2
    assert description["TrainingJobStatusCounters"]["InProgress"] == 0
    assert processes_under(work / "tmp") == []
    tuner.wait()  # a stopped job is no error (a warning)


def test_ctrl_c_stops_the_tuning_job_and_its_training_jobs(work):
    program = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_tuning_local import Script, METRICS
        from framework_sdk import LocalSession
        from framework_sdk.tuner import HyperparameterTuner, ContinuousParameter
        estimator = Script("train.py", source_dir={str(work / 'code')!r}, framework_version="3.11",
                           instance_type="local", instance_count=1, sagemaker_session=LocalSession(backend="process"),
                           output_path="file://{work}/models", metric_definitions=METRICS,
                           hyperparameters={{"pause_after": 1}})
        HyperparameterTuner(estimator, "accuracy", {{"x": ContinuousParameter(0, 1)}}, strategy="Random",
                            max_jobs=4, max_parallel_jobs=2, base_tuning_job_name="ctrl-c").fit(job_name="ctrl-c-job")
    """)
    child = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=dict(os.environ, TMPDIR=str(work / "tmp")), text=True)
    try:
        seen = []
        for line in child.stdout:
            seen.append(line)
            if sum(" started: x=" in item for item in seen) == 2:
                break
        while len(processes_under(work / "tmp")) < 2 and child.poll() is None:
            time.sleep(0.1)  # the two jobs' processes appear right after their start lines
        child.send_signal(signal.SIGINT)
        output = "".join(seen) + child.communicate(timeout=90)[0]
    finally:
        child.kill()
    assert child.returncode != 0 and "KeyboardInterrupt" in output, output
    assert "ctrl-c-job: Stopped - 2 training jobs: 0 completed, 0 failed, 2 stopped" in output
    assert leftovers(work) == []
    record = LocalSession(backend="process").sagemaker_client.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="ctrl-c-job")  # read from the record the child left
    assert record["HyperParameterTuningJobStatus"] == "Stopped"
    assert "interrupted (Ctrl-C)" in record["FailureReason"]


def test_warm_start_seeds_the_search_and_reports_the_overall_best(session, work, capsys):
    first = HyperparameterTuner(estimator(session, work), "accuracy", {"x": ContinuousParameter(0.1, 1)},
                                strategy="Bayesian", max_jobs=3, max_parallel_jobs=3, random_seed=3)
    first.fit()
    parent_best = first.describe()["BestTrainingJob"]
    second = first.identical_dataset_and_algorithm_tuner()
    second.max_jobs = 2
    second.fit()
    description = second.describe()
    assert description["WarmStartConfig"]["WarmStartType"] == "IdenticalDataAndAlgorithm"
    overall = description["OverallBestTrainingJob"]
    values = [parent_best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
              description["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]]
    assert overall["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(values)
    assert "warm start: 3 earlier results" in capsys.readouterr().out
    # Identical data and algorithm: other data is refused, transfer learning takes it.
    (work / "other").mkdir()
    refused = first.identical_dataset_and_algorithm_tuner()
    with pytest.raises(AWSError, match="IdenticalDataAndAlgorithm needs the parent's training image and input data"):
        refused.fit({"train": f"file://{work / 'other'}"})
    transfer = HyperparameterTuner(estimator(session, work), "accuracy", {"x": ContinuousParameter(0.5, 1)},
                                   strategy="Random", max_jobs=1, warm_start_config=WarmStartConfig(
                                       WarmStartTypes.TRANSFER_LEARNING, [first.latest_tuning_job.name]))
    transfer.fit({"train": f"file://{work / 'other'}"})
    assert transfer.describe()["HyperParameterTuningJobStatus"] == "Completed"


def test_another_process_describes_lists_and_attaches(session, work):
    tuner = HyperparameterTuner(estimator(session, work), "accuracy", {"x": ContinuousParameter(0.1, 1)},
                                strategy="Random", max_jobs=2, max_parallel_jobs=2, random_seed=5)
    tuner.fit()
    name = tuner.latest_tuning_job.name
    program = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from framework_sdk import LocalSession
        from framework_sdk.tuner import HyperparameterTuner
        session = LocalSession(backend="process")
        tuner = HyperparameterTuner.attach({name!r}, sagemaker_session=session,
                                           estimator_cls="test_tuning_local.Script")
        best = tuner.best_estimator()
        print("BEST", tuner.best_training_job(), best.model_data, best.hyperparameters()["x"])
        print("ROWS", len(tuner.analytics().dataframe()))
        print("LISTED", [s["HyperParameterTuningJobName"] for s in
                         session.sagemaker_client.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]])
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    best = tuner.best_training_job()
    x = tuner.best_estimator().hyperparameters()["x"]
    assert f"BEST {best} file://{work}/models/{best}/output/model.tar.gz {x}" in done.stdout
    assert "ROWS 2" in done.stdout and f"LISTED ['{name}']" in done.stdout


def _write_record(name, pid, status="InProgress"):
    from framework_sdk.local import cleanup, tuning_store

    path = tuning_store.tuning_jobs_dir() / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    description = {"HyperParameterTuningJobName": name, "HyperParameterTuningJobStatus": status,
                   "HyperParameterTuningJobConfig": {"Strategy": "Random",
                                                     "ResourceLimits": {"MaxParallelTrainingJobs": 1}},
                   "CreationTime": {"$datetime": "2026-01-01T00:00:00+00:00"}}
    path.write_text(json.dumps({"pid": pid, "owner": cleanup.identity(pid), "summaries": [], "training_jobs": {},
                                "description": description}))


def test_the_local_client_answers_as_sagemaker_would(session, work):
    client = session.sagemaker_client
    with pytest.raises(AWSError, match="ValidationException.*'../x' is not valid"):
        client.create_hyper_parameter_tuning_job(HyperParameterTuningJobName="../x", HyperParameterTuningJobConfig={})
    with pytest.raises(AWSError, match="ValidationException.*TrainingJobDefinitions.*runs only on SageMaker"):
        client.create_hyper_parameter_tuning_job(HyperParameterTuningJobName="no-definition", HyperParameterTuningJobConfig={
            "Strategy": "Random", "ResourceLimits": {"MaxParallelTrainingJobs": 1}})
    with pytest.raises(AWSError, match="ResourceNotFound.*nope"):
        client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope")
    tuner = HyperparameterTuner(estimator(session, work), "accuracy", {"x": ContinuousParameter(0, 1)},
                                strategy="Random", warm_start_config=WarmStartConfig(
                                    WarmStartTypes.TRANSFER_LEARNING, ["no-such-parent"]))
    with pytest.raises(AWSError, match="warm start parent tuning job 'no-such-parent' does not exist here"):
        tuner.fit()
    # records of other processes: one still running elsewhere, one whose process died mid-way
    _write_record("elsewhere", os.getppid())
    with pytest.raises(AWSError, match=rf"runs in another Python process \(pid {os.getppid()}\); stop it there"):
        client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="elsewhere")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _write_record("orphan", int(gone.stdout))
    described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="orphan")
    assert described["HyperParameterTuningJobStatus"] == "Failed"
    assert "exited before the tuning job ended" in described["FailureReason"]
    client.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName="orphan")
    with pytest.raises(AWSError, match="ResourceNotFound"):
        client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="orphan")
