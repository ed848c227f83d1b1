"""CloudWatch logs of SageMaker jobs: what ``log_type`` shows, every host's stream merged in time order, and a
job followed until it ends."""
from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, TextIO

from framework_sdk.exceptions import AWSError, ConfigurationError, WaitTimeoutError
from framework_sdk.session.waits import _backoff, check_job_status

if TYPE_CHECKING:
    from framework_sdk._types import Response
    from framework_sdk.session import Session


# What logs_for_job(log_type=...) prints, as in SageMaker Python SDK v2: the hosts' log lines, the
# status changes of Debugger/Profiler rules (DescribeTrainingJob's *RuleEvaluationStatuses), the final status.
LOG_TYPES: dict[str, tuple[str, ...]] = {"All": ("lines", "rules", "status"), "Training": ("lines", "status"),
                                         "Rules": ("rules", "status"), "None": ()}


def check_log_type(log_type: str | bool | None) -> str:
    """``log_type`` as a key of :data:`LOG_TYPES`; ``True`` means ``'All'``, ``False`` (as in SageMaker v2) and
    ``None`` mean ``'None'``."""
    if log_type is True:
        return "All"
    if log_type is False or log_type is None:
        return "None"
    if log_type not in LOG_TYPES:
        raise ConfigurationError(f"log_type={log_type!r} is not one of {', '.join(map(repr, LOG_TYPES))} "
                                 f"(or True/False): 'All' prints the log lines and the rules' statuses, "
                                 f"'Training' the log lines, 'Rules' the rules' statuses, 'None' nothing")
    return log_type


def rule_status_lines(description: Response, printed: dict[str, str]) -> list[str]:
    """``[rule] <name>: <status>`` for each Debugger/Profiler rule whose status changed since ``printed``.

    ``printed`` (rule name -> status) is updated, so each status is printed once.
    """
    lines = []
    for key in ("DebugRuleEvaluationStatuses", "ProfilerRuleEvaluationStatuses"):
        for rule in description.get(key) or ():
            name, status = rule.get("RuleConfigurationName"), rule.get("RuleEvaluationStatus")
            if printed.get(name) != status:
                printed[name] = status
                lines.append(f"[rule] {name}: {status}")
    return lines


def follow_logs(session: Session, job_name: str, group: str, describe: Callable[[str], Response], status_key: str,
                done: tuple[str, ...], wait: bool, poll: float, timeout: float | None, out: TextIO | None = None,
                shown: tuple[str, ...] = ("lines", "status")) -> Response:
    """Print the job's new log lines (and rule statuses) as ``shown`` says; with ``wait`` until it ends."""
    out = out or sys.stdout
    reader = LogReader(session.logs_client, group, job_name) if "lines" in shown else None
    rules: dict[str, str] = {}  # rule name -> the status last printed
    deadline = None if timeout is None else time.monotonic() + timeout
    delays = _backoff(poll)
    description = describe(job_name)
    while True:
        finished = description[status_key] in done
        lines = reader.read_new() if reader else []  # after the job ends: one last full read
        if "rules" in shown:
            lines += rule_status_lines(description, rules)
        for line in lines:
            out.write(line + "\n")
        out.flush()
        if finished or not wait:
            break
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeoutError(f"job {job_name!r} is still {description[status_key]} after {timeout} s")
        threading.Event().wait(next(delays))
        description = describe(job_name)
    if finished:
        if "status" in shown:
            out.write(f"{job_name}: {description[status_key]}"
                      f"{' - ' + description['FailureReason'] if description.get('FailureReason') else ''}\n")
            out.flush()
        if wait:
            check_job_status(job_name, description, status_key)
    return description


class LogReader:
    """Reads new events of every CloudWatch stream ``<job_name>/...`` of a log group, merged by time."""

    def __init__(self, logs_client: Any, group: str, job_name: str) -> None:
        self.client = logs_client
        self.group = group
        self.job_name = job_name
        self.tokens: dict[str, str] = {}  # stream -> nextForwardToken

    def streams(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            request: dict[str, Any] = {"logGroupName": self.group, "logStreamNamePrefix": self.job_name + "/"}
            if token:
                request["nextToken"] = token
            try:
                page = self.client.describe_log_streams(**request)
            except AWSError as error:
                if error.code == "ResourceNotFoundException":  # the group appears with the first job
                    return []
                raise
            names.extend(stream["logStreamName"] for stream in page.get("logStreams", ()))
            token = page.get("nextToken")
            if not token:
                return sorted(names)

    @staticmethod
    def host(stream: str) -> str:
        """``job/algo-1-1700000000`` -> ``algo-1``."""
        tail = stream.split("/", 1)[-1]
        head, _, last = tail.rpartition("-")
        return head if head and last.isdigit() and len(last) >= 9 else tail

    def read_new(self) -> list[str]:
        """Lines not read before, ``[host] message``, ordered by timestamp across streams."""
        events: list[tuple[int, int, str, str]] = []
        for index, stream in enumerate(self.streams()):
            host = self.host(stream)
            while True:
                request: dict[str, Any] = {"logGroupName": self.group, "logStreamName": stream,
                                           "startFromHead": True}
                if stream in self.tokens:
                    request["nextToken"] = self.tokens[stream]
                page = self.client.get_log_events(**request)
                batch = page.get("events", ())
                for event in batch:
                    events.append((event.get("timestamp", 0), index, host, event.get("message", "")))
                token = page.get("nextForwardToken")
                moved = token and token != self.tokens.get(stream)
                if token:
                    self.tokens[stream] = token
                if not batch or not moved:
                    break
        events.sort(key=lambda event: (event[0], event[1]))
        return [f"[{host}] {message.rstrip()}" for _, _, host, message in events]
