"""Training metrics from log lines, extracted as SageMaker extracts them with ``metric_definitions``.

Each definition is ``{"Name": ..., "Regex": ...}``. Every log line is searched with every
regex; the first capture group (or, without a group, the whole match) is parsed as a
float and recorded under the metric's name with the time it was seen. Lines where the
regex does not match, or the captured text is not a finite number, record nothing.

:class:`MetricsCollector` is fed log lines (local mode feeds it each line of each host)
and keeps a series per metric. Its :meth:`~MetricsCollector.dataframe` has SageMaker's
``TrainingJobAnalytics`` columns (``timestamp`` in seconds since the job started,
``metric_name``, ``value``): a pandas DataFrame when pandas is installed, plain lists of
rows otherwise. :meth:`~MetricsCollector.plot` writes a small PNG with matplotlib (an
:class:`ImportError` naming the ``pip install`` when matplotlib is missing);
:meth:`~MetricsCollector.export_csv` writes the rows as CSV.

A local training job keeps one (``estimator.training_job_analytics``);
:func:`cloudwatch_metrics` fills one from CloudWatch for a job that ran on AWS.

Pure Python: pandas and matplotlib are imported only by the methods that use them.
"""
from __future__ import annotations

import math
import re
import threading
import time
from collections import namedtuple
from typing import TYPE_CHECKING, Any, Callable

from .exceptions import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping

    import pandas

    from ._types import Response
    from .session import Session

MetricPoint = namedtuple("MetricPoint", "timestamp value")
MetricPoint.__doc__ = "One metric value: ``timestamp`` in seconds since the collector's start, ``value`` a float."

_LINE_BREAKS = re.compile(r"[\r\n]+")
_INSTALL_PLOT = "pip install matplotlib  (or: pip install 'framework-sdk[analytics]')"


def compile_metric_definitions(
        metric_definitions: Iterable[Mapping[str, str]] | None) -> list[tuple[str, re.Pattern[str]]]:
    """``[{"Name", "Regex"}]`` -> ``[(name, compiled regex)]``; a ConfigurationError names a bad one."""
    compiled = []
    for index, definition in enumerate(metric_definitions or ()):
        try:
            name, regex = definition["Name"], definition["Regex"]
        except (KeyError, TypeError):
            raise ConfigurationError(
                f"metric_definitions[{index}] must be a dict with 'Name' and 'Regex', got {definition!r}") from None
        if not name or not regex:
            raise ConfigurationError(f"metric_definitions[{index}] needs a non-empty Name and Regex")
        try:
            compiled.append((name, re.compile(regex)))
        except re.error as error:
            raise ConfigurationError(f"metric {name!r}: regex {regex!r} does not compile: {error}") from None
    return compiled


def _value(match: re.Match[str]) -> float | None:
    text = match.group(1) if match.re.groups else match.group(0)
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_line(definitions: Iterable[tuple[str, re.Pattern[str]]], line: str) -> list[tuple[str, float]]:
    """The ``(name, value)`` pairs ``line`` yields under compiled ``definitions``, in definition order."""
    found = []
    for name, pattern in definitions:
        match = pattern.search(line)
        if match:
            value = _value(match)
            if value is not None:
                found.append((name, value))
    return found


class MetricsCollector:
    """Collects metric series from log lines; thread-safe, so every host's log thread may feed it.

    ``MetricsCollector(metric_definitions, start_time=None, clock=time.time)``: timestamps
    are seconds since ``start_time`` (default: when the collector was made).
    """

    def __init__(self, metric_definitions: Iterable[Mapping[str, str]] | None, start_time: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.definitions = compile_metric_definitions(metric_definitions)
        self.clock = clock
        self.start_time = clock() if start_time is None else start_time
        self._series: dict[str, list[MetricPoint]] = {name: [] for name, _ in self.definitions}
        self._lock = threading.Lock()

    def feed(self, text: str | bytes, timestamp: float | None = None) -> list[tuple[str, float]]:
        """Record the metrics found in ``text`` (one line, or several); returns the ``(name, value)`` found.

        ``timestamp`` is when the text was logged (epoch seconds; default: now).
        """
        if not self.definitions:
            return []
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        elapsed = (self.clock() if timestamp is None else timestamp) - self.start_time
        found = []
        for line in _LINE_BREAKS.split(text):
            if line:
                found += parse_line(self.definitions, line)
        if found:
            with self._lock:
                for name, value in found:
                    self._series[name].append(MetricPoint(elapsed, value))
        return found

    __call__ = feed

    def add(self, name: str, value: float, timestamp: float) -> None:
        """Record one point read elsewhere (CloudWatch): ``timestamp`` in epoch seconds."""
        with self._lock:
            self._series.setdefault(name, []).append(MetricPoint(timestamp - self.start_time, float(value)))

    def final_metric_data(self) -> list[dict[str, Any]]:
        """The latest value of each metric, shaped like ``DescribeTrainingJob``'s ``FinalMetricDataList``."""
        import datetime

        final = []
        with self._lock:
            for name, points in self._series.items():
                if points:
                    when = datetime.datetime.fromtimestamp(self.start_time + points[-1].timestamp,
                                                           datetime.timezone.utc)
                    final.append({"MetricName": name, "Value": points[-1].value, "Timestamp": when})
        return final

    @property
    def names(self) -> list[str]:
        """The metric names, in definition order."""
        return list(self._series)

    def series(self, name: str) -> list[MetricPoint]:
        """The points recorded for metric ``name`` (a copy), oldest first."""
        if name not in self._series:
            raise KeyError(f"no metric named {name!r}; defined: {', '.join(self._series) or 'none'}")
        with self._lock:
            return list(self._series[name])

    def last(self, name: str) -> float | None:
        """The latest value of metric ``name``, or None before the first one."""
        points = self.series(name)
        return points[-1].value if points else None

    def records(self) -> list[dict[str, Any]]:
        """Every point as ``{"timestamp", "metric_name", "value"}`` rows, ordered by time."""
        with self._lock:
            rows = [{"timestamp": point.timestamp, "metric_name": name, "value": point.value}
                    for name, points in self._series.items() for point in points]
        rows.sort(key=lambda row: row["timestamp"])
        return rows

    def dataframe(self) -> pandas.DataFrame | list[dict[str, Any]]:
        """The metrics as SageMaker's ``TrainingJobAnalytics.dataframe()`` shows them.

        A pandas DataFrame with columns ``timestamp``, ``metric_name``, ``value`` when pandas is
        installed; otherwise the same rows as a list of dicts (see :meth:`records`).
        """
        rows = self.records()
        try:
            import pandas
        except ImportError:
            return rows
        return pandas.DataFrame(rows, columns=["timestamp", "metric_name", "value"])

    def export_csv(self, path: str | os.PathLike[str]) -> str | os.PathLike[str]:
        """Write :meth:`records` to ``path`` as CSV (``timestamp,metric_name,value``), as SageMaker's
        ``TrainingJobAnalytics.export_csv`` does; returns ``path``."""
        import csv

        with open(path, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=["timestamp", "metric_name", "value"])
            writer.writeheader()
            writer.writerows(self.records())
        return path

    def plot(self, path: str | os.PathLike[str], names: Iterable[str] | None = None,
             title: str | None = None) -> str | os.PathLike[str]:
        """Write a small PNG of the series (one panel per metric) to ``path``; returns ``path``.

        Needs matplotlib; without it, raises :class:`MissingDependencyError` (an ``ImportError``) saying what to install. Uses
        matplotlib's object API (no pyplot), so it changes no global plotting state.
        """
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError as error:
            raise MissingDependencyError(f"plotting metrics needs matplotlib, which is not installed: {_INSTALL_PLOT}") \
                from error
        plotted = list(names or self.names)
        if not plotted:
            raise ConfigurationError("no metrics to plot: give metric_definitions to the estimator")
        figure = Figure(figsize=(6, 1.8 * len(plotted) + 0.4), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(len(plotted), 1, squeeze=False)[:, 0]
        for axis, name in zip(axes, plotted):
            points = self.series(name)
            axis.plot([p.timestamp for p in points], [p.value for p in points], marker="." if len(points) < 50 else None)
            axis.set_ylabel(name)
            axis.grid(True, alpha=0.3)
            if not points:
                axis.text(0.5, 0.5, "no values logged", ha="center", va="center", transform=axis.transAxes)
        axes[-1].set_xlabel("seconds since the job started")
        if title:
            figure.suptitle(title)
        figure.savefig(path, format="png")
        return path


CLOUDWATCH_NAMESPACE = "/aws/sagemaker/TrainingJobs"


def cloudwatch_metrics(session: Session, description: Response, period: int = 60) -> MetricsCollector:
    """A :class:`MetricsCollector` filled with a SageMaker training job's metrics from CloudWatch.

    ``description`` is the job's ``DescribeTrainingJob`` response. Reads, as SageMaker Python
    SDK's ``TrainingJobAnalytics`` does, the ``Average`` per ``period`` seconds of each metric
    in namespace ``/aws/sagemaker/TrainingJobs`` between the job's start and end (metrics the
    request defines, else every metric CloudWatch lists for the job).
    """
    import datetime

    name = description["TrainingJobName"]
    start = description.get("TrainingStartTime") or description["CreationTime"]
    end = description.get("TrainingEndTime") or datetime.datetime.now(datetime.timezone.utc)
    definitions = description.get("AlgorithmSpecification", {}).get("MetricDefinitions") or []
    client = session._client("cloudwatch")
    dimensions = [{"Name": "TrainingJobName", "Value": name}]
    names = [definition["Name"] for definition in definitions] or sorted({
        metric["MetricName"] for metric in client.list_metrics(
            Namespace=CLOUDWATCH_NAMESPACE, Dimensions=dimensions).get("Metrics", [])})
    collector = MetricsCollector(definitions, start_time=start.timestamp())
    margin = datetime.timedelta(seconds=period)
    for metric in names:
        response = client.get_metric_statistics(
            Namespace=CLOUDWATCH_NAMESPACE, MetricName=metric, Dimensions=dimensions, StartTime=start - margin,
            EndTime=end + margin, Period=period, Statistics=["Average"])
        for point in sorted(response.get("Datapoints", []), key=lambda point: point["Timestamp"]):
            collector.add(metric, point["Average"], point["Timestamp"].timestamp())
    return collector
