"""SageMaker's control plane (JSON 1.1) over the local engine, with its state kept in SQLite.

Calls go to :class:`~framework_sdk.local.clients.LocalSageMakerClient`, which runs the jobs and
endpoints; this module adds what an API server needs around it: descriptions that outlive the
process (completed jobs, models, endpoint configs, endpoints brought back up after a restart),
the ``List*`` calls with SageMaker's filters and ``NextToken`` paging, and the logs pumped to Logs.
A tuning job starts its training jobs through this server's ``CreateTrainingJob`` (:class:`TrialLauncher`),
so they are stored, listed and logged as any other; its ``ListTrainingJobsForHyperParameterTuningJob``
answer is stored with it.
"""
from __future__ import annotations

import base64
import datetime
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

from framework_sdk.api import logs
from framework_sdk.api.protocol import ApiError, wire
from framework_sdk.api.store import Store
from framework_sdk.exceptions import AWSError, SDKError

log = logging.getLogger("framework_sdk.api")

# kind -> (name member, status member or None, engine table, the List call's summary members)
KINDS: dict[str, tuple[str, str | None, str, tuple[str, ...]]] = {
    "training_job": ("TrainingJobName", "TrainingJobStatus", "training_jobs",
                     ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime", "LastModifiedTime",
                      "TrainingJobStatus")),
    "model": ("ModelName", None, "models", ("ModelName", "ModelArn", "CreationTime")),
    "endpoint_config": ("EndpointConfigName", None, "endpoint_configs",
                        ("EndpointConfigName", "EndpointConfigArn", "CreationTime")),
    "endpoint": ("EndpointName", "EndpointStatus", "endpoints",
                 ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")),
    "transform_job": ("TransformJobName", "TransformJobStatus", "transform_jobs",
                      ("TransformJobName", "TransformJobArn", "CreationTime", "TransformEndTime",
                       "LastModifiedTime", "TransformJobStatus", "FailureReason")),
    "processing_job": ("ProcessingJobName", "ProcessingJobStatus", "processing_jobs",
                       ("ProcessingJobName", "ProcessingJobArn", "CreationTime", "ProcessingEndTime",
                        "LastModifiedTime", "ProcessingJobStatus", "FailureReason", "ExitMessage")),
    "hyper_parameter_tuning_job": ("HyperParameterTuningJobName", "HyperParameterTuningJobStatus",
                                   "hyper_parameter_tuning_jobs",
                                   ("HyperParameterTuningJobName", "HyperParameterTuningJobArn",
                                    "HyperParameterTuningJobStatus", "CreationTime", "HyperParameterTuningEndTime",
                                    "LastModifiedTime", "TrainingJobStatusCounters", "ObjectiveStatusCounters")),
}
NOT_FOUND = {"hyper_parameter_tuning_job": "ResourceNotFound"}  # SageMaker's code where not ValidationException
TRIALS = "tuning_job_trials"  # store kind: a tuning job's training job summaries, kept with it
LIST_CALLS = {  # operation -> (kind, key of the list in the answer)
    "ListTrainingJobs": ("training_job", "TrainingJobSummaries"),
    "ListModels": ("model", "Models"),
    "ListEndpointConfigs": ("endpoint_config", "EndpointConfigs"),
    "ListEndpoints": ("endpoint", "Endpoints"),
    "ListTransformJobs": ("transform_job", "TransformJobSummaries"),
    "ListProcessingJobs": ("processing_job", "ProcessingJobSummaries"),
    "ListHyperParameterTuningJobs": ("hyper_parameter_tuning_job", "HyperParameterTuningJobSummaries"),
}
TRIAL_SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "Name": lambda s: s["TrainingJobName"], "CreationTime": lambda s: s["CreationTime"],
    "Status": lambda s: s["TrainingJobStatus"],
    "FinalObjectiveMetricValue": lambda s: (s.get("FinalHyperParameterTuningJobObjectiveMetric") or {})
    .get("Value", float("-inf"))}
STOP_NOTICED_SECONDS = 10  # a Stop call answers once the run says Stopping (or has ended), at most this late
RUNNING = {"InProgress", "Stopping", "Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}
SORT_MEMBERS = {"Name": "name", "CreationTime": "CreationTime", "Status": "status"}


class SageMakerApi:
    """The SageMaker operations this machine runs, answered as boto3 expects them."""

    def __init__(self, engine: Any, store: Store, allowed_roots: list[Path]) -> None:
        self.engine = engine
        self.store = store
        self.allowed_roots = [root.resolve() for root in allowed_roots]
        self._operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateTrainingJob": self._create_training_job,
            "DescribeTrainingJob": lambda p: self._describe("training_job", p["TrainingJobName"]),
            "StopTrainingJob": lambda p: self._engine_call("training_job", "stop_training_job", p),
            "CreateModel": lambda p: self._create_plain("model", "create_model", p),
            "DescribeModel": lambda p: self._describe("model", p["ModelName"]),
            "DeleteModel": lambda p: self._delete_plain("model", "delete_model", p),
            "CreateEndpointConfig": lambda p: self._create_plain("endpoint_config", "create_endpoint_config", p),
            "DescribeEndpointConfig": lambda p: self._describe("endpoint_config", p["EndpointConfigName"]),
            "DeleteEndpointConfig": lambda p: self._delete_plain("endpoint_config", "delete_endpoint_config", p),
            "CreateEndpoint": self._create_endpoint,
            "DescribeEndpoint": lambda p: self._describe("endpoint", p["EndpointName"]),
            "DeleteEndpoint": self._delete_endpoint,
            "CreateTransformJob": self._create_transform_job,
            "DescribeTransformJob": lambda p: self._describe("transform_job", p["TransformJobName"]),
            "StopTransformJob": lambda p: self._engine_call("transform_job", "stop_transform_job", p),
            "CreateProcessingJob": self._create_processing_job,
            "DescribeProcessingJob": lambda p: self._describe("processing_job", p["ProcessingJobName"]),
            "StopProcessingJob": lambda p: self._stop_in_background("processing_job", "stop_processing_job", p),
            "CreateHyperParameterTuningJob": self._create_tuning_job,
            "DescribeHyperParameterTuningJob": lambda p: self._describe("hyper_parameter_tuning_job",
                                                                        p["HyperParameterTuningJobName"]),
            "StopHyperParameterTuningJob": lambda p: self._stop_in_background(
                "hyper_parameter_tuning_job", "stop_hyper_parameter_tuning_job", p),
            "DeleteHyperParameterTuningJob": self._delete_tuning_job,
            "ListTrainingJobsForHyperParameterTuningJob": self._list_trials,
        }
        for operation, (kind, key) in LIST_CALLS.items():
            self._operations[operation] = self._lister(kind, key)

    @property
    def operations(self) -> list[str]:
        return sorted(self._operations)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = self._operations.get(operation)
        if handler is None:
            raise ApiError("ValidationException", f"{operation} is a SageMaker operation this local server does "
                           f"not run; it runs: {', '.join(self.operations)}")
        self._check_paths(params)
        try:
            return wire(handler(params))
        except ApiError:  # already SageMaker's answer (an SDKError too: not to be caught below)
            raise
        except AWSError as error:  # the engine's boto3-shaped errors keep their code
            raise ApiError(error.code, error.aws_message or str(error)) from None
        except SDKError as error:  # the engine cannot run what was asked (image, paths, ...)
            raise ApiError("ValidationException", str(error)) from None

    # ------------------------------------------------------------------ paths
    def _check_paths(self, value: Any) -> None:
        """``file://`` locations in a request must lie under the state dir or a path the user allowed."""
        if isinstance(value, dict):
            for item in value.values():
                self._check_paths(item)
        elif isinstance(value, list):
            for item in value:
                self._check_paths(item)
        elif isinstance(value, str) and value.startswith("file://"):
            from framework_sdk.local.storage import local_path

            path = local_path(value).resolve()
            if not any(path == root or root in path.parents for root in self.allowed_roots):
                raise ApiError("ValidationException", f"{value} lies outside the paths this server may read and "
                               f"write ({', '.join(map(str, self.allowed_roots))}); use s3:// locations, or "
                               f"start the server with --allow-path")

    # ------------------------------------------------------------------ shared steps
    def _table(self, kind: str) -> dict[str, Any]:
        table: dict[str, Any] = getattr(self.engine, KINDS[kind][2])
        return table

    def _describe_live(self, kind: str, name: str) -> dict[str, Any] | None:
        if name not in self._table(kind):
            return None
        description: dict[str, Any] = getattr(self.engine, f"describe_{kind}")(**{KINDS[kind][0]: name})
        answer: dict[str, Any] = wire(description)
        self.store.put(kind, name, answer)
        if kind == "hyper_parameter_tuning_job":
            self.store.put(TRIALS, name, {"HyperParameterTuningJobName": name,
                                          "TrainingJobSummaries": self._live_trials(name)})
        return answer

    def _describe(self, kind: str, name: str) -> dict[str, Any]:
        description = self._describe_live(kind, name) or self.store.get(kind, name)
        if description is None:
            raise ApiError(NOT_FOUND.get(kind, "ValidationException"),
                           f"Could not find {kind.replace('_', ' ')} \"{name}\".")
        return description

    def _check_new(self, kind: str, name: str) -> None:
        if name in self._table(kind) or self.store.get(kind, name) is not None:
            raise ApiError("ValidationException" if kind in ("model", "endpoint_config", "endpoint")
                           else "ResourceInUse", f"Cannot create an already existing {kind.replace('_', ' ')} "
                           f"\"{name}\"; delete it first or choose another name.")

    def _engine_call(self, kind: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        name = params[KINDS[kind][0]]
        if name not in self._table(kind):
            description = self._describe(kind, name)  # not found: the usual error
            raise ApiError("ValidationException", f"The {kind.replace('_', ' ')} \"{name}\" is "
                           f"{description.get(KINDS[kind][1] or '', 'not running')}; it cannot be stopped.")
        result: dict[str, Any] = getattr(self.engine, method)(**params)
        self._describe_live(kind, name)
        return result

    def _stop_in_background(self, kind: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Stop a run as SageMaker does: answer once it is ``Stopping`` while its hosts end in a thread (the
        engine's stop waits for them, up to minutes, longer than a client waits for an answer)."""
        name_member, status_member, _, _ = KINDS[kind]
        name = params[name_member]
        run = self._table(kind).get(name)
        if run is None or run.done.is_set():
            return self._engine_call(kind, method, params)  # not running: the usual answers

        def stop() -> None:
            getattr(self.engine, method)(**params)
            self._describe_live(kind, name)

        threading.Thread(target=stop, name=f"stop-{name}", daemon=True).start()
        deadline = time.monotonic() + STOP_NOTICED_SECONDS
        while (self._describe(kind, name).get(status_member or "") == "InProgress" and not run.done.is_set()
               and time.monotonic() < deadline):
            time.sleep(0.05)
        self._describe_live(kind, name)
        return {}

    def _create_plain(self, kind: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._check_new(kind, params[KINDS[kind][0]])
        result: dict[str, Any] = getattr(self.engine, method)(**params)
        self._describe_live(kind, params[KINDS[kind][0]])
        return result

    def _delete_plain(self, kind: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        name = params[KINDS[kind][0]]
        self._describe(kind, name)
        if name in self._table(kind):
            getattr(self.engine, method)(**params)
        self.store.delete(kind, name)
        return {}

    def _watch(self, kind: str, name: str, run: Any) -> None:
        """Record the final description of ``run`` once it ends (what describe answers after a restart)."""
        def wait() -> None:
            run.done.wait()
            self._describe_live(kind, name)

        threading.Thread(target=wait, name=f"watch-{name}", daemon=True).start()

    # ------------------------------------------------------------------ jobs
    def _create_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TrainingJobName"]
        self._check_new("training_job", name)
        result: dict[str, Any] = self.engine.create_training_job(**params)
        job = self.engine.training_jobs[name]
        created = int(job.status["CreationTime"].timestamp())
        logs.pump(self.store, job.logs.follow(), logs.TRAINING_GROUP, lambda host: f"{name}/{host}-{created}")
        self._describe_live("training_job", name)
        self._watch("training_job", name, job)
        return result

    def _create_transform_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TransformJobName"]
        self._check_new("transform_job", name)
        result: dict[str, Any] = self.engine.create_transform_job(**params)
        job = self.engine.transform_jobs[name]
        created = int(time.time())
        logs.pump(self.store, job.logs.follow(), logs.TRANSFORM_GROUP, lambda host: f"{name}/{host}-{created}")
        self._describe_live("transform_job", name)
        self._watch("transform_job", name, job)
        return result

    def _create_processing_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ProcessingJobName"]
        self._check_new("processing_job", name)
        result: dict[str, Any] = self.engine.create_processing_job(**params)
        job = self.engine.processing_jobs[name]
        created = int(time.time())
        logs.pump(self.store, job.logs.follow(), logs.PROCESSING_GROUP, lambda host: f"{name}/{host}-{created}")
        self._describe_live("processing_job", name)
        self._watch("processing_job", name, job)
        return result

    def _create_tuning_job(self, params: dict[str, Any]) -> dict[str, Any]:
        from framework_sdk.local import tuning

        name = params["HyperParameterTuningJobName"]
        self._check_new("hyper_parameter_tuning_job", name)
        # What the local client's create_hyper_parameter_tuning_job does, with the trials started through
        # this server rather than straight on the engine.
        job = tuning.create(self.engine.hyper_parameter_tuning_jobs, TrialLauncher(self), params)
        job.start()
        self._describe_live("hyper_parameter_tuning_job", name)
        self._watch("hyper_parameter_tuning_job", name, job)
        return {"HyperParameterTuningJobArn": tuning.arn(name)}

    def _delete_tuning_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["HyperParameterTuningJobName"]
        description = self._describe("hyper_parameter_tuning_job", name)
        if description["HyperParameterTuningJobStatus"] in RUNNING:
            raise ApiError("ValidationException", f"The tuning job \"{name}\" is "
                           f"{description['HyperParameterTuningJobStatus']}; stop it before deleting it.")
        try:  # the engine forgets it too, and its own record of it (a job of before a restart has only that)
            self.engine.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        except AWSError:
            pass  # the engine has no record of it left: nothing to forget
        self.store.delete("hyper_parameter_tuning_job", name)
        self.store.delete(TRIALS, name)
        return {}

    def _live_trials(self, name: str) -> list[dict[str, Any]]:
        """Every training job summary of live tuning job ``name`` (the engine answers them a page at a time)."""
        summaries: list[dict[str, Any]] = []
        token = None
        while True:
            page = self.engine.list_training_jobs_for_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=name, MaxResults=100, **({"NextToken": token} if token else {}))
            summaries.extend(wire(page["TrainingJobSummaries"]))
            token = page.get("NextToken")
            if not token:
                return summaries

    def _list_trials(self, params: dict[str, Any]) -> dict[str, Any]:
        """``ListTrainingJobsForHyperParameterTuningJob`` from the stored summaries, filtered, sorted, paged."""
        name = params["HyperParameterTuningJobName"]
        self._describe("hyper_parameter_tuning_job", name)  # refreshes a live job's summaries; not found: the error
        summaries = (self.store.get(TRIALS, name) or {}).get("TrainingJobSummaries", [])
        summaries = [s for s in summaries if params.get("StatusEquals") in (None, s["TrainingJobStatus"])]
        sort_by = params.get("SortBy", "Name")
        if sort_by not in TRIAL_SORT_KEYS:
            raise ApiError("ValidationException", f"SortBy {sort_by!r} is not one of {', '.join(TRIAL_SORT_KEYS)}")
        summaries.sort(key=TRIAL_SORT_KEYS[sort_by],
                       reverse=params.get("SortOrder", "Ascending") == "Descending")
        return _page(summaries, "TrainingJobSummaries", params)

    # ------------------------------------------------------------------ endpoints
    def _create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        self._check_new("endpoint", name)
        return self._start_endpoint(name, params["EndpointConfigName"])

    def _start_endpoint(self, name: str, config: str) -> dict[str, Any]:
        result: dict[str, Any] = self.engine.create_endpoint(EndpointName=name, EndpointConfigName=config)
        endpoint = self.engine.endpoints[name]
        logs.pump(self.store, endpoint.logs.follow(), logs.endpoint_group(name),
                  lambda host: f"{endpoint.variant}/{host}")
        self._describe_live("endpoint", name)

        def started() -> None:
            endpoint.ready.wait()
            if self.engine.endpoints.get(name) is endpoint:
                self._describe_live("endpoint", name)

        threading.Thread(target=started, name=f"watch-{name}", daemon=True).start()
        return result

    def _delete_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        self._describe("endpoint", name)
        if name in self.engine.endpoints:
            self.engine.delete_endpoint(EndpointName=name)
        self.store.delete("endpoint", name)
        return {}

    # ------------------------------------------------------------------ lists
    def _lister(self, kind: str, key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def list_call(params: dict[str, Any]) -> dict[str, Any]:
            return self._list(kind, key, params)

        return list_call

    def _list(self, kind: str, key: str, params: dict[str, Any]) -> dict[str, Any]:
        name_member, status_member, _, summary_members = KINDS[kind]
        live = set(self._table(kind))
        items = [self._describe_live(kind, d[name_member]) or d if d[name_member] in live else d
                 for d in self.store.all(kind)]
        items = [item for item in items if _matches(item, params, name_member, status_member)]
        sort_by = params.get("SortBy", "CreationTime")
        member = {"Name": name_member, "Status": status_member}.get(sort_by, "CreationTime")
        items.sort(key=lambda item: (item.get(member or "CreationTime") or 0), reverse=params.get("SortOrder",
                                                                                                   "Descending") == "Descending")
        return _page([_summary(kind, item, summary_members) for item in items], key, params)

    # ------------------------------------------------------------------ restart
    def restore(self) -> None:
        """After a restart: models and configs back in the engine, runs that were cut short marked
        ``Failed``, endpoints that were in service started again (or ``Failed`` with the reason)."""
        for kind in ("model", "endpoint_config"):
            for description in self.store.all(kind):
                entry = {k: v for k, v in description.items() if not k.endswith("Arn")}
                entry["CreationTime"] = _datetime(entry.get("CreationTime"))
                self._table(kind)[description[KINDS[kind][0]]] = entry
        for kind in ("training_job", "transform_job", "processing_job", "hyper_parameter_tuning_job"):
            status_member = KINDS[kind][1] or ""
            for description in self.store.all(kind):
                if description.get(status_member) in RUNNING:
                    description.update({status_member: "Failed", "LastModifiedTime": time.time(),
                                        "FailureReason": "the API server stopped while the job ran; run it again"})
                    if kind == "training_job":
                        description["SecondaryStatus"] = "Failed"
                    self.store.put(kind, description[KINDS[kind][0]], description)
        for trials in self.store.all(TRIALS):  # a tuning job's summaries follow its training jobs
            for summary in trials["TrainingJobSummaries"]:
                stored = self.store.get("training_job", summary["TrainingJobName"]) or {}
                summary["TrainingJobStatus"] = stored.get("TrainingJobStatus", summary["TrainingJobStatus"])
            self.store.put(TRIALS, trials["HyperParameterTuningJobName"], trials)
        for description in self.store.all("endpoint"):
            name = description["EndpointName"]
            if description.get("EndpointStatus") not in ("InService", "Creating", "Updating"):
                continue
            try:
                self._start_endpoint(name, description["EndpointConfigName"])
                log.info("endpoint %s is starting again", name)
            except (AWSError, SDKError) as error:
                description.update(EndpointStatus="Failed", LastModifiedTime=time.time(),
                                   FailureReason=f"could not start again after the server restarted: {error}")
                self.store.put("endpoint", name, description)

    def close(self) -> None:
        """Stop what runs (endpoints, jobs); completed work stays in the store."""
        for name, endpoint in list(self.engine.endpoints.items()):
            description = self.store.get("endpoint", name)
            endpoint.ready.wait(5)
            endpoint.stop()
            if description is not None:  # brought back up at the next start
                self.store.put("endpoint", name, description)
        # Tuning jobs first: a search still running would start new training jobs.
        for table in ("hyper_parameter_tuning_jobs", "training_jobs", "transform_jobs", "processing_jobs"):
            for run in list(getattr(self.engine, table).values()):
                if not run.done.is_set():
                    run.stop("stopped: the API server shut down")


class TrialLauncher:
    """The client a tuning job starts its training jobs with: the engine's tables, and this server's
    ``CreateTrainingJob``, so every trial is stored, listed, logged and described after a restart."""

    def __init__(self, api: SageMakerApi) -> None:
        self._api = api
        self.training_jobs = api.engine.training_jobs
        self.hyper_parameter_tuning_jobs = api.engine.hyper_parameter_tuning_jobs

    def create_training_job(self, **request: Any) -> dict[str, Any]:
        return self._api._create_training_job(request)


def _summary(kind: str, item: dict[str, Any], members: tuple[str, ...]) -> dict[str, Any]:
    summary = {member: item[member] for member in members if member in item}
    if kind == "hyper_parameter_tuning_job":  # two members of the summary are nested in the description
        config = item.get("HyperParameterTuningJobConfig", {})
        summary.update({k: config[k] for k in ("Strategy", "ResourceLimits") if k in config})
    return summary


def _page(items: list[dict[str, Any]], key: str, params: dict[str, Any]) -> dict[str, Any]:
    start = _decode_token(params.get("NextToken"))
    limit = int(params.get("MaxResults", 10))
    answer: dict[str, Any] = {key: items[start:start + limit]}
    if start + limit < len(items):
        answer["NextToken"] = base64.urlsafe_b64encode(json.dumps({"start": start + limit}).encode()).decode()
    return answer


def _matches(item: dict[str, Any], params: dict[str, Any], name_member: str, status_member: str | None) -> bool:
    if params.get("NameContains") and params["NameContains"] not in item[name_member]:
        return False
    if params.get("StatusEquals") and status_member and item.get(status_member) != params["StatusEquals"]:
        return False
    for member, field, after in (("CreationTimeAfter", "CreationTime", True),
                                 ("CreationTimeBefore", "CreationTime", False),
                                 ("LastModifiedTimeAfter", "LastModifiedTime", True),
                                 ("LastModifiedTimeBefore", "LastModifiedTime", False)):
        bound = params.get(member)
        if bound is None or field not in item:
            continue
        if (item[field] <= bound.timestamp()) if after else (item[field] >= bound.timestamp()):
            return False
    return True


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        start = json.loads(base64.urlsafe_b64decode(token.encode()))["start"]
    except (ValueError, KeyError, TypeError):
        raise ApiError("ValidationException", "NextToken is not one this server gave; start the list again "
                       "without it") from None
    if not isinstance(start, int) or start < 0:
        raise ApiError("ValidationException", "NextToken is not one this server gave")
    return start


def _datetime(value: Any) -> Any:
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return value
