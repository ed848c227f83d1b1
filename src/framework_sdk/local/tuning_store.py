"""Local tuning jobs found by name from other processes: one JSON record per tuning job.

The process that runs a local tuning job rewrites ``<state dir>/tuning-jobs/<name>.json`` at
every change (atomically: readers never see half a file): the job's
``DescribeHyperParameterTuningJob`` answer, its training jobs' summaries
(``ListTrainingJobsForHyperParameterTuningJob``) and, once each training job has ended, its
``DescribeTrainingJob`` answer. So another process describes the tuning job, lists its training
jobs, and attaches to (and deploys) the best one. The state dir is the endpoint registry's
(:mod:`framework_sdk.local.registry`): ``$XDG_STATE_HOME/framework-sdk``.

Records stay after the job ends, as SageMaker keeps finished tuning jobs;
``DeleteHyperParameterTuningJob`` removes one. A record left ``InProgress`` by a process that
is gone (killed before it could stop its jobs) reads as ``Failed``, with that reason.
"""
import datetime
import json
import os
import re

from framework_sdk.local import cleanup, registry

_RUNNING = ("InProgress", "Stopping")
NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")  # SageMaker's, for tuning jobs (and file names here)
_TRAINING_JOB = re.compile(r"([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,31})-\d{3}-[0-9a-f]{8}")  # <tuning job>-<NNN>-<8 hex>


def tuning_jobs_dir():
    """Where the records live: ``$XDG_STATE_HOME/framework-sdk/tuning-jobs``."""
    return registry.endpoints_dir().parent / "tuning-jobs"


def _encode(value):
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _decode(entry):
    if len(entry) == 1 and "$datetime" in entry:
        return datetime.datetime.fromisoformat(entry["$datetime"])
    return entry


def write(name, record):
    """Replace the record of tuning job ``name`` (``description``, ``summaries``, ``training_jobs``) with ``record``."""
    path = tuning_jobs_dir() / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{name}.{os.getpid()}.tmp")
    record = dict(record, pid=os.getpid(), owner=cleanup.identity())  # owner: pid and start time (pids are reused)
    temporary.write_text(json.dumps(record, default=_encode))
    os.replace(temporary, path)


def read(name):
    """The record of tuning job ``name`` (datetimes restored), or ``None``."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return None
    try:
        record = json.loads((tuning_jobs_dir() / f"{name}.json").read_text(), object_hook=_decode)
    except (OSError, ValueError):
        return None
    description = record.get("description") or {}
    if description.get("HyperParameterTuningJobStatus") in _RUNNING and not cleanup.alive(record.get("owner")):
        description["HyperParameterTuningJobStatus"] = "Failed"
        description["FailureReason"] = (f"the Python process that ran it (pid {record.get('pid')}) exited before "
                                        f"the tuning job ended")
    return record


def names():
    """Names of every recorded tuning job."""
    folder = tuning_jobs_dir()
    return sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []


def delete(name):
    if NAME.fullmatch(name):
        (tuning_jobs_dir() / f"{name}.json").unlink(missing_ok=True)


def training_job(name):
    """The recorded ``DescribeTrainingJob`` answer of training job ``name`` of a tuning job, or ``None``.

    Tuning jobs name their training jobs ``<tuning job>-<NNN>-<8 hex>``: the record is found by that prefix.
    """
    match = _TRAINING_JOB.fullmatch(name or "")
    if match is None:
        return None
    record = read(match.group(1))
    if record is None:
        return None
    return (record.get("training_jobs") or {}).get(name)
