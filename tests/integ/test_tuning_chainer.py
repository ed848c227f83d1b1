"""Tuning a Chainer script locally on both backends, then serving the best model (issue 14's proof).

The script is the Chainer guide's (``examples/chainer_mnist/train.py``), which logs
``epoch N validation accuracy: X`` per epoch; it trains on the example's MNIST-shaped data
(``data.py``). The process backend runs a Random and a Bayesian search, deploys the best
estimator and has another Python process attach to the tuning job and deploy from there; the
docker backend runs one small Random search and serves its best model.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from framework_sdk import LocalSession
from framework_sdk.chainer import Chainer
from framework_sdk.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter
from test_chainer_e2e import EXAMPLE, _load_example_data  # the example script and its data

METRICS = [{"Name": "validation:accuracy", "Regex": r"validation accuracy: ([0-9.]+)"}]
RANGES = {"learning-rate": ContinuousParameter(0.0005, 0.02, "Logarithmic"), "units": IntegerParameter(16, 64)}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("tuning-chainer")
    data = _load_example_data()
    data.write(str(root / "data" / "train"), 1000, seed=1)
    data.write(str(root / "data" / "test"), 300, seed=2)
    return root


@pytest.fixture(scope="module")
def session(request, workspace):
    backend = request.param
    if backend == "docker":
        request.getfixturevalue("chainer_image")
    else:
        from framework_sdk import venvs

        venvs.framework_python("chainer", "7.8.1")
    scratch = workspace / f"runs-{backend}"
    scratch.mkdir()
    state = pytest.MonkeyPatch()
    state.setenv("XDG_STATE_HOME", str(workspace / "state"))  # tuning job records: this module's own
    session = LocalSession(backend=backend, work_dir=str(scratch))
    yield session
    session.close()
    state.undo()
    assert list(scratch.iterdir()) == [], "local mode left temporary trees behind"


def tune(session, workspace, strategy, max_jobs, max_parallel_jobs):
    estimator = Chainer(entry_point="train.py", source_dir=str(EXAMPLE), framework_version="7.8.1",
                        instance_type="local", instance_count=1, hyperparameters={"epochs": 2, "batch-size": 50},
                        output_path=f"file://{workspace}/models", sagemaker_session=session)
    tuner = HyperparameterTuner(estimator, "validation:accuracy", RANGES, metric_definitions=METRICS,
                                strategy=strategy, max_jobs=max_jobs, max_parallel_jobs=max_parallel_jobs,
                                random_seed=11, base_tuning_job_name=f"chainer-{strategy.lower()}")
    channels = {"train": f"file://{workspace}/data/train", "test": f"file://{workspace}/data/test"}
    tuner.fit(channels)
    return tuner


def check_search(tuner, jobs):
    description = tuner.describe()
    assert description["HyperParameterTuningJobStatus"] == "Completed", description.get("FailureReason")
    assert description["TrainingJobStatusCounters"]["Completed"] == jobs
    frame = tuner.analytics().dataframe()
    assert len(frame) == jobs  # every training job, one row each
    assert list(frame.columns[:2]) == ["learning-rate", "units"]
    assert frame["units"].between(16, 64).all() and frame["learning-rate"].between(0.0005, 0.02).all()
    assert (frame["TrainingJobStatus"] == "Completed").all()
    assert frame["FinalObjectiveValue"].max() > 0.5, frame  # above chance (0.1): the script learned
    best = description["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == frame["FinalObjectiveValue"].max()
    return best


def accuracy_of(predictor, workspace):
    with np.load(workspace / "data" / "test" / "data.npz") as data:
        x, y = data["x"][:100], data["y"][:100]
    scores = predictor.predict(x)
    assert scores.shape == (100, 10)
    return float((scores.argmax(axis=1) == y).mean())


@pytest.mark.parametrize("session", ["process"], indirect=True)
def test_random_and_bayesian_searches_then_deploy_and_attach_from_another_process(session, workspace, capsys):
    random_tuner = tune(session, workspace, "Random", max_jobs=3, max_parallel_jobs=2)
    check_search(random_tuner, 3)
    bayesian = tune(session, workspace, "Bayesian", max_jobs=3, max_parallel_jobs=1)
    best = check_search(bayesian, 3)
    out = capsys.readouterr().out
    assert "Bayesian search of learning-rate, units" in out and "validation:accuracy = " in out

    estimator = bayesian.best_estimator()
    assert estimator.latest_training_job.name == best["TrainingJobName"]
    assert estimator.hyperparameters()["units"] == best["TunedHyperParameters"]["units"]
    predictor = estimator.deploy(1, "local")
    try:
        assert accuracy_of(predictor, workspace) > 0.5
    finally:
        predictor.delete_endpoint()

    name = bayesian.latest_tuning_job.name
    program = textwrap.dedent(f"""
        import json
        import numpy as np
        from framework_sdk import LocalSession
        from framework_sdk.tuner import HyperparameterTuner
        tuner = HyperparameterTuner.attach({name!r}, sagemaker_session=LocalSession(backend="process"))
        with np.load({str(workspace / 'data' / 'test' / 'data.npz')!r}) as data:
            x, y = data["x"][:100], data["y"][:100]
        predictor = tuner.deploy(1, "local")
        try:
            accuracy = float((predictor.predict(x).argmax(axis=1) == y).mean())
        finally:
            predictor.delete_endpoint()
        print(json.dumps({{"estimator": type(tuner.estimator).__name__, "best": tuner.best_training_job(),
                          "endpoint": predictor.endpoint_name, "rows": len(tuner.analytics().dataframe()),
                          "accuracy": accuracy}}))
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(workspace / "runs-process")})
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["estimator"] == "Chainer" and answer["best"] == best["TrainingJobName"]
    assert answer["endpoint"] == best["TrainingJobName"] and answer["rows"] == 3
    assert answer["accuracy"] > 0.5, answer


@pytest.mark.docker
@pytest.mark.parametrize("session", ["docker"], indirect=True)
def test_a_small_search_in_containers_then_deploy_the_best(session, workspace):
    tuner = tune(session, workspace, "Random", max_jobs=2, max_parallel_jobs=2)
    check_search(tuner, 2)
    predictor = tuner.deploy(1, "local")
    try:
        assert accuracy_of(predictor, workspace) > 0.5
    finally:
        predictor.delete_endpoint()
