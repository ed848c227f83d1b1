"""metric_definitions on a real local job: every log line is searched, series come back with timestamps."""
import sys
import time

import pytest

from framework_sdk import LocalSession
from framework_sdk.estimator import Framework

TRAIN = '''
for epoch in range(5):
    print(f"epoch {epoch} loss={0.5 / (epoch + 1)}", flush=True)
print("loss=nan (skipped: not a finite number)", flush=True)
print("validation accuracy: 0.9", flush=True)
'''
DEFINITIONS = [{"Name": "train:loss", "Regex": r"loss=(\S+)"},
               {"Name": "validation:accuracy", "Regex": r"accuracy: ([0-9.]+)"}]


@pytest.fixture(params=["process", pytest.param("docker", marks=pytest.mark.docker)])
def session(request, tmp_path):
    if request.param == "docker":
        request.getfixturevalue("python_image")
        session = LocalSession(backend="docker", docker_client=request.getfixturevalue("docker_client"))
    else:
        from framework_sdk import venvs

        venvs.framework_python("python", "3.11")  # build (or reuse) the environment outside the timing
        session = LocalSession(backend="process")
    yield session
    session.close()


def test_metric_series_from_a_local_job(session, tmp_path):
    source = tmp_path / "code"
    source.mkdir()
    (source / "train.py").write_text(TRAIN)
    estimator = Framework("train.py", str(source), image_uri="framework-sdk-python:3.11-cpu-py3", instance_count=1,
                          instance_type="local", sagemaker_session=session, metric_definitions=DEFINITIONS,
                          output_path=f"file://{tmp_path}/models")
    started = time.time()
    estimator.fit(logs=False)
    took = time.time() - started

    analytics = estimator.training_job_analytics
    assert analytics.names == ["train:loss", "validation:accuracy"]
    loss = analytics.series("train:loss")
    assert [point.value for point in loss] == [0.5, 0.25, 0.5 / 3, 0.125, 0.1]
    times = [point.timestamp for point in loss]
    assert times == sorted(times) and 0 <= times[0] and times[-1] <= took + 1
    assert analytics.last("validation:accuracy") == 0.9

    frame = analytics.dataframe()  # pandas is installed with the test extra
    assert list(frame.columns) == ["timestamp", "metric_name", "value"] and len(frame) == 6
    assert frame[frame.metric_name == "train:loss"].value.tolist()[-1] == 0.1

    final = {item["MetricName"]: item["Value"] for item in estimator.describe()["FinalMetricDataList"]}
    assert final == {"train:loss": 0.1, "validation:accuracy": 0.9}

    png = analytics.plot(tmp_path / "metrics.png", title=estimator.latest_training_job.name)
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    rows = open(analytics.export_csv(tmp_path / "metrics.csv")).read().splitlines()
    assert rows[0] == "timestamp,metric_name,value" and len(rows) == 7


@pytest.mark.parametrize("session", ["process"], indirect=True)
def test_without_pandas_the_series_are_plain_rows(session, tmp_path, monkeypatch):
    source = tmp_path / "code"
    source.mkdir()
    (source / "train.py").write_text(TRAIN)
    estimator = Framework("train.py", str(source), image_uri="framework-sdk-python:3.11-cpu-py3", instance_count=1,
                          instance_type="local", sagemaker_session=session, metric_definitions=DEFINITIONS[:1],
                          output_path=f"file://{tmp_path}/models")
    estimator.fit(logs=False)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    rows = estimator.training_job_analytics.dataframe()
    assert isinstance(rows, list) and [row["value"] for row in rows] == [0.5, 0.25, 0.5 / 3, 0.125, 0.1]
    assert set(rows[0]) == {"timestamp", "metric_name", "value"}
