"""Metric extraction from log lines, series, the analytics view and the PNG plot."""
import struct
import sys
import threading

import pytest

from framework_sdk.exceptions import ConfigurationError
from framework_sdk.metrics import MetricPoint, MetricsCollector, compile_metric_definitions, parse_line

DEFINITIONS = [
    {"Name": "train:loss", "Regex": r"loss: ([0-9.eE+-]+)"},
    {"Name": "validation:accuracy", "Regex": r"val_acc=(\S+)"},
    {"Name": "epoch", "Regex": r"(?<=epoch )\d+"},  # no group: the whole match
]


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def collector():
    clock = FakeClock()
    return MetricsCollector(DEFINITIONS, clock=clock), clock


def test_first_group_or_whole_match_parsed_as_float():
    definitions = compile_metric_definitions(DEFINITIONS)
    assert parse_line(definitions, "algo-1 | epoch 3 loss: 1.5e-2 val_acc=0.75") == [
        ("train:loss", 0.015), ("validation:accuracy", 0.75), ("epoch", 3.0)]
    assert parse_line(definitions, "nothing to see") == []


@pytest.mark.parametrize("line", ["val_acc=abc", "val_acc=nan", "val_acc=inf", "loss: -"])
def test_values_that_are_not_finite_numbers_are_skipped(line):
    assert parse_line(compile_metric_definitions(DEFINITIONS), line) == []


def test_an_unmatched_optional_group_records_nothing():
    definitions = compile_metric_definitions([{"Name": "m", "Regex": r"m(?:=(\d+))?"}])
    assert parse_line(definitions, "m") == []
    assert parse_line(definitions, "m=4") == [("m", 4.0)]


def test_series_keep_values_with_seconds_since_start():
    metrics, clock = collector()
    metrics.feed("epoch 1 loss: 0.9")
    clock.now += 2.5
    metrics.feed(b"epoch 2 loss: 0.5 val_acc=0.8\n")
    metrics.feed("loss: 0.25", timestamp=1010.0)
    assert metrics.names == ["train:loss", "validation:accuracy", "epoch"]
    assert metrics.series("train:loss") == [MetricPoint(0.0, 0.9), MetricPoint(2.5, 0.5), MetricPoint(10.0, 0.25)]
    assert metrics.series("validation:accuracy") == [MetricPoint(2.5, 0.8)]
    assert metrics.last("epoch") == 2.0
    with pytest.raises(KeyError, match="no metric named 'loss'; defined: train:loss"):
        metrics.series("loss")


def test_a_chunk_with_several_lines_and_carriage_returns_yields_each_line():
    metrics, _ = collector()
    found = metrics.feed("loss: 3\rloss: 2\r\nloss: 1\n")
    assert found == [("train:loss", 3.0), ("train:loss", 2.0), ("train:loss", 1.0)]


def test_feeding_from_many_threads_loses_nothing():
    metrics = MetricsCollector(DEFINITIONS)
    threads = [threading.Thread(target=lambda: [metrics("loss: 1") for _ in range(500)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(metrics.series("train:loss")) == 2000


def test_dataframe_has_training_job_analytics_columns():
    pandas = pytest.importorskip("pandas")
    metrics, clock = collector()
    metrics.feed("loss: 2 val_acc=0.5")
    clock.now += 1
    metrics.feed("loss: 1")
    frame = metrics.dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == ["timestamp", "metric_name", "value"]
    assert frame[frame.metric_name == "train:loss"]["value"].tolist() == [2.0, 1.0]
    assert frame["timestamp"].tolist() == [0.0, 0.0, 1.0]


def test_dataframe_without_pandas_is_plain_rows(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` raise ImportError
    metrics, _ = collector()
    metrics.feed("loss: 2")
    assert metrics.dataframe() == [{"timestamp": 0.0, "metric_name": "train:loss", "value": 2.0}]


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    metrics, clock = collector()
    for step in range(5):
        clock.now += 1
        metrics.feed(f"epoch {step} loss: {1 / (step + 1)}")
    path = metrics.plot(tmp_path / "metrics.png", title="decision trees")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (600, int((1.8 * 3 + 0.4) * 100))


def test_plot_without_matplotlib_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    metrics, _ = collector()
    with pytest.raises(ImportError, match="pip install matplotlib"):
        metrics.plot(tmp_path / "metrics.png")
    assert not (tmp_path / "metrics.png").exists()


def test_plot_with_no_definitions_is_an_error(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="no metrics to plot"):
        MetricsCollector([]).plot(tmp_path / "m.png")


@pytest.mark.parametrize("definitions, message", [
    ([{"Name": "x"}], r"metric_definitions\[0\] must be a dict with 'Name' and 'Regex'"),
    (["loss"], "must be a dict"),
    ([{"Name": "", "Regex": "a"}], "non-empty Name and Regex"),
    ([{"Name": "loss", "Regex": "loss: ("}], "regex 'loss: \\(' does not compile"),
])
def test_bad_definitions_are_clear_errors(definitions, message):
    with pytest.raises(ConfigurationError, match=message):
        MetricsCollector(definitions)


def test_no_definitions_records_nothing():
    metrics = MetricsCollector(None)
    assert metrics.feed("loss: 1") == [] and metrics.records() == []
