"""CloudWatch Logs for the jobs and endpoints run here: their real output, one stream per host.

The server pumps each run's log book into SQLite as SageMaker names groups and streams
(``/aws/sagemaker/TrainingJobs`` with ``{job}/algo-1-{epoch}``, ``/aws/sagemaker/Endpoints/{name}``
with ``{variant}/{host}``, ``/aws/sagemaker/TransformJobs`` and ``/aws/sagemaker/ProcessingJobs`` with
``{job}/{host}-{epoch}``) and answers
``DescribeLogGroups``, ``DescribeLogStreams``, ``GetLogEvents`` and ``FilterLogEvents`` from it.
Written here rather than taken from moto because the events must outlive a restart with the jobs.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from framework_sdk.api.protocol import ApiError
from framework_sdk.api.store import Store

TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"
TRANSFORM_GROUP = "/aws/sagemaker/TransformJobs"
PROCESSING_GROUP = "/aws/sagemaker/ProcessingJobs"
ACCOUNT = "000000000000"


def endpoint_group(name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{name}"


def host_of(line: str) -> str | None:
    """``algo-1 | text`` -> ``algo-1``; a line of framework-sdk's own (``[framework-sdk] ...``) -> None."""
    head, separator, _ = line.partition(" | ")
    return head if separator and head.startswith("algo-") else None


def pump(store: Store, lines: Iterable[str], group: str, stream_of: Callable[[str], str]) -> threading.Thread:
    """Copy ``lines`` (a log book's ``follow()``) into ``group`` in a thread, each host to its stream,
    each line as it comes (clients follow the logs live)."""
    def run() -> None:
        known: set[str] = set()
        host = "algo-1"  # framework-sdk's own notes go with the first host's stream
        for line in lines:
            host = host_of(line) or host
            stream = stream_of(host)
            if stream not in known:
                store.add_stream(group, stream)
                known.add(stream)
            store.add_events(group, stream, [line.partition(" | ")[2] if host_of(line) else line])

    thread = threading.Thread(target=run, name=f"logs-{group}", daemon=True)
    thread.start()
    return thread


class LogsApi:
    """The CloudWatch Logs operations SageMaker clients call to read a job's output."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, operation, None)
        if handler is None or not operation[:1].isupper():
            raise ApiError("InvalidOperationException", f"this server answers the Logs operations "
                           f"DescribeLogGroups, DescribeLogStreams, GetLogEvents and FilterLogEvents, not {operation}")
        result: dict[str, Any] = handler(**params)
        return result

    def _group_exists(self, group: str) -> None:
        if not self.store.execute("SELECT 1 FROM log_streams WHERE log_group = ? LIMIT 1", (group,)):
            raise ApiError("ResourceNotFoundException", "The specified log group does not exist.")

    def DescribeLogGroups(self, logGroupNamePrefix: str = "", limit: int = 50, nextToken: str | None = None,
                          **_: Any) -> dict[str, Any]:
        rows = self.store.execute("SELECT log_group, MIN(created) FROM log_streams WHERE log_group >= ? "
                                  "GROUP BY log_group ORDER BY log_group", (logGroupNamePrefix,))
        groups = [{"logGroupName": group, "creationTime": created, "storedBytes": 0,
                   "arn": f"arn:aws:logs:local:{ACCOUNT}:log-group:{group}:*"}
                  for group, created in rows if group.startswith(logGroupNamePrefix)]
        return _page(groups, "logGroups", limit, nextToken)

    def DescribeLogStreams(self, logGroupName: str, logStreamNamePrefix: str = "", orderBy: str = "LogStreamName",
                           descending: bool = False, limit: int = 50, nextToken: str | None = None,
                           **_: Any) -> dict[str, Any]:
        self._group_exists(logGroupName)
        rows = self.store.execute(
            "SELECT s.stream, s.created, MIN(e.timestamp), MAX(e.timestamp), MAX(e.ingested), "
            "SUM(LENGTH(e.message)) FROM log_streams s LEFT JOIN log_events e "
            "ON e.log_group = s.log_group AND e.stream = s.stream WHERE s.log_group = ? GROUP BY s.stream",
            (logGroupName,))
        streams = [{"logStreamName": name, "creationTime": created, "firstEventTimestamp": first or created,
                    "lastEventTimestamp": last or created, "lastIngestionTime": ingested or created,
                    "storedBytes": size or 0,
                    "arn": f"arn:aws:logs:local:{ACCOUNT}:log-group:{logGroupName}:log-stream:{name}"}
                   for name, created, first, last, ingested, size in rows if name.startswith(logStreamNamePrefix)]
        key = "logStreamName" if orderBy == "LogStreamName" else "lastEventTimestamp"
        streams.sort(key=lambda stream: stream[key], reverse=descending)
        return _page(streams, "logStreams", limit, nextToken)

    def GetLogEvents(self, logStreamName: str, logGroupName: str | None = None, startTime: Any = None,
                     endTime: Any = None, nextToken: str | None = None, limit: int = 10000,
                     startFromHead: bool = False, **_: Any) -> dict[str, Any]:
        if logGroupName is None:
            raise ApiError("InvalidParameterException", "give logGroupName (logGroupIdentifier is not read here)")
        self._group_exists(logGroupName)
        where: list[str] = ["log_group = ?", "stream = ?"]
        args: list[Any] = [logGroupName, logStreamName]
        where, args = _time_range(where, args, startTime, endTime)
        forward = startFromHead
        if nextToken:
            direction, _slash, token_id = nextToken.partition("/")
            if direction not in ("f", "b") or not token_id.isdigit():
                raise ApiError("InvalidParameterException", f"nextToken {nextToken!r} is not one this server gave")
            forward = direction == "f"
            where.append("id > ?" if forward else "id < ?")
            args.append(int(token_id))
        order = "ASC" if forward else "DESC"
        rows = self.store.execute(f"SELECT id, timestamp, ingested, message FROM log_events WHERE "
                                  f"{' AND '.join(where)} ORDER BY id {order} LIMIT ?", (*args, limit))
        rows = rows if forward else rows[::-1]
        events = [{"timestamp": stamp, "ingestionTime": ingested, "message": message}
                  for _, stamp, ingested, message in rows]
        if rows:
            first, last = rows[0][0], rows[-1][0]
        else:  # nothing new: the same tokens again tell a follower it has reached the end
            position = int(nextToken.partition("/")[2]) if nextToken else 0
            first, last = position, position
        return {"events": events, "nextForwardToken": f"f/{last}", "nextBackwardToken": f"b/{first}"}

    def FilterLogEvents(self, logGroupName: str, logStreamNames: list[str] | None = None,
                        logStreamNamePrefix: str = "", startTime: Any = None, endTime: Any = None,
                        filterPattern: str = "", nextToken: str | None = None, limit: int = 10000,
                        **_: Any) -> dict[str, Any]:
        self._group_exists(logGroupName)
        where: list[str] = ["log_group = ?", "stream LIKE ? ESCAPE '\\'"]
        args: list[Any] = [logGroupName, _like_prefix(logStreamNamePrefix)]
        where, args = _time_range(where, args, startTime, endTime)
        if nextToken:
            if not nextToken.isdigit():
                raise ApiError("InvalidParameterException", f"nextToken {nextToken!r} is not one this server gave")
            where.append("id > ?")
            args.append(int(nextToken))
        rows = self.store.execute(f"SELECT id, stream, timestamp, ingested, message FROM log_events WHERE "
                                  f"{' AND '.join(where)} ORDER BY id", tuple(args))
        terms = filterPattern.strip().strip('"').split()
        chosen = [row for row in rows if (not logStreamNames or row[1] in logStreamNames)
                  and all(term in row[4] for term in terms)]
        page = chosen[:limit]
        result: dict[str, Any] = {
            "events": [{"logStreamName": stream, "timestamp": stamp, "ingestionTime": ingested, "message": message,
                        "eventId": str(event)} for event, stream, stamp, ingested, message in page],
            "searchedLogStreams": []}
        if len(chosen) > limit:
            result["nextToken"] = str(page[-1][0])
        return result


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if prefix else "%"


def _time_range(where: list[str], args: list[Any], start: Any, end: Any) -> tuple[list[str], list[Any]]:
    if start is not None:
        where.append("timestamp >= ?")
        args.append(int(start))
    if end is not None:
        where.append("timestamp <= ?")
        args.append(int(end))
    return where, args


def _page(items: list[dict[str, Any]], key: str, limit: int, token: str | None) -> dict[str, Any]:
    start = int(token) if token and token.isdigit() else 0
    result: dict[str, Any] = {key: items[start:start + limit]}
    if start + limit < len(items):
        result["nextToken"] = str(start + limit)
    return result
