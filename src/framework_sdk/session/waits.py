"""Waiting on SageMaker: polls with a backoff and a bound, and a job's final status as its description or an
error with the failure reason."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Callable

from framework_sdk.exceptions import UnexpectedStatusException, WaitTimeoutError

if TYPE_CHECKING:
    from framework_sdk._types import Response


LOGGER = logging.getLogger(__name__)


def _backoff(poll: float, start: float = 0.5) -> Iterator[float]:
    """Poll intervals: ``start``, doubling, capped at ``poll`` seconds."""
    delay = min(start, poll)
    while True:
        yield delay
        delay = min(delay * 2, poll)


def wait(describe: Callable[[], Response], status_key: str, done: tuple[str, ...], what: str, poll: float,
         timeout: float | None) -> Response:
    """Poll ``describe()`` until ``description[status_key]`` is one of ``done``; :class:`WaitTimeoutError` after
    ``timeout`` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delays = _backoff(poll)
    while True:
        description = describe()
        if description[status_key] in done:
            return description
        delay = next(delays)
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(
                    f"{what} is still {description[status_key]} after {timeout} s; wait longer "
                    f"(timeout=...) or check it in the SageMaker console")
            delay = min(delay, remaining)
        threading.Event().wait(delay)


def check_job_status(job_name: str, description: Response, status_key: str) -> Response:
    """Return ``description`` when the job completed; warn when stopped; raise with ``FailureReason`` when failed."""
    status = description[status_key]
    if status == "Completed":
        return description
    if status == "Stopped":
        LOGGER.warning("job %s was stopped before it finished", job_name)
        return description
    reason = description.get("FailureReason")
    logs = _LOGS_METHODS.get(status_key, "logs_for_job")
    raise UnexpectedStatusException(
        f"job {job_name!r} ended {status}: {reason or 'no reason given'}; its logs are in CloudWatch "
        f"(session.{logs}({job_name!r}))", ("Completed", "Stopped"), status, reason, job_name)


_LOGS_METHODS = {"ProcessingJobStatus": "logs_for_processing_job"}  # what prints a job kind's logs
