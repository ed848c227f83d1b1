"""Local hyperparameter tuning: SageMaker's tuning job run on this machine, every trial a local training job.

``TuningJob(request, client)`` takes the ``CreateHyperParameterTuningJob`` request as boto3
takes it; ``start()`` runs the search in a thread. It starts training jobs through the local
client's ``create_training_job`` (so ``describe_training_job``, ``attach`` and the backends
treat them like any other), named ``<tuning job>-<NNN>-<8 hex>`` as SageMaker names them, with
the definition's static hyperparameters plus the values the strategy
(:mod:`framework_sdk.tuning_strategies`) asked for; at most ``MaxParallelTrainingJobs`` at once,
the next one as soon as one ends. The search ends when ``MaxNumberOfTrainingJobs`` have run
(failed ones count, as on SageMaker), the strategy has no more values (Grid), the first
:data:`FAILURE_LIMIT` jobs all failed (a script that cannot run would fail every job),
``MaxRuntimeInSeconds`` passed, or :meth:`TuningJob.stop` was called.

The objective is the last value of the objective metric that the job's log lines gave
(``MetricDefinitions``); a job that completes without one is a failed evaluation whose reason
shows the regex. Early stopping (``TrainingJobEarlyStoppingType='Auto'``, and the Hyperband
strategy from ``MinResource`` on) applies :class:`~framework_sdk.tuning_strategies.MedianStoppingRule`
to each value as it is logged; Hyperband also stops a job at ``MaxResource`` values.

``describe()`` answers like ``DescribeHyperParameterTuningJob``, :func:`list_page` like
``ListTrainingJobsForHyperParameterTuningJob``. ``book`` holds ``("progress", line)`` entries
(one line per training job start and end, with its hyperparameters, objective and the best so
far) and ``("training", line)`` entries (the training jobs' own lines). Every change is written
to :mod:`framework_sdk.local.tuning_store` for other processes.
"""
import atexit
import dataclasses
import datetime
import logging
import queue
import secrets
import threading
import weakref
from typing import Any, Optional

from framework_sdk.exceptions import ConfigurationError
from framework_sdk.local import runs, tuning_store
from framework_sdk.local.backends.base import in_parallel
from framework_sdk.local.runtime import client_error
from framework_sdk.metrics import compile_metric_definitions, parse_line
from framework_sdk.tuning_strategies import (OBJECTIVE_TYPES, MedianStoppingRule, SearchSpace, hyperband_resources,
                                             make_strategy)

log = logging.getLogger("framework_sdk.local")

FAILURE_LIMIT = 3           # the first jobs all failing this many times ends the search
MEDIAN_RULE_MIN_JOBS = 3    # earlier jobs needed at a point before the median rule stops a job there
STOP_WAIT_SECONDS = 120
# Fields of a TrainingJobDefinition that a CreateTrainingJob request takes as they are.
DEFINITION_KEYS = ("RoleArn", "InputDataConfig", "VpcConfig", "OutputDataConfig", "ResourceConfig",
                   "StoppingCondition", "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
                   "EnableManagedSpotTraining", "CheckpointConfig", "RetryStrategy", "Environment")
_RUNNING = ("InProgress", "Stopping")
_live: "weakref.WeakSet[TuningJob]" = weakref.WeakSet()


def arn(name):
    return f"arn:aws:sagemaker:local:000000000000:hyper-parameter-tuning-job/{name.lower()}"


@dataclasses.dataclass(eq=False)
class Trial:
    """One training job of the search."""

    index: int
    name: str
    hyperparameters: dict          # TunedHyperParameters: name -> SageMaker's string
    suggestion: Any
    created: datetime.datetime
    job: Any = None                # the local TrainingJob
    objective: list = dataclasses.field(default_factory=list)  # the objective's values, as logged
    status: str = "InProgress"
    objective_status: str = "Pending"
    failure: Optional[str] = None
    stop_reason: Optional[str] = None  # why the search stopped it early
    started: Optional[datetime.datetime] = None
    ended: Optional[datetime.datetime] = None

    @property
    def value(self):
        return self.objective[-1] if self.objective_status == "Succeeded" else None


def training_request(definition, name, tuned):
    """The ``CreateTrainingJob`` request of training job ``name`` with ``tuned`` hyperparameters."""
    request = {"TrainingJobName": name, "AlgorithmSpecification": dict(definition["AlgorithmSpecification"]),
               "HyperParameters": {**(definition.get("StaticHyperParameters") or {}), **tuned}}
    request.update({key: definition[key] for key in DEFINITION_KEYS if key in definition})
    return request


class TuningJob:
    """One local tuning job, from ``CreateHyperParameterTuningJob`` to its last training job."""

    def __init__(self, request, client):
        self.request = request
        self.client = client
        self.name = request["HyperParameterTuningJobName"]
        self.config = request["HyperParameterTuningJobConfig"]
        self.definition = request.get("TrainingJobDefinition")
        self._check_request()
        objective = self.config["HyperParameterTuningJobObjective"]
        self.metric, self.objective_type = objective["MetricName"], objective.get("Type", "Maximize")
        self.maximize = self.objective_type == "Maximize"
        definitions = self.definition["AlgorithmSpecification"].get("MetricDefinitions") or []
        self.objective_definition = [(name, regex) for name, regex in compile_metric_definitions(definitions)
                                     if name == self.metric]
        if not self.objective_definition:
            raise ConfigurationError(f"the objective metric {self.metric!r} has no regex in the training job "
                                     f"definition's MetricDefinitions")
        self.regex = self.objective_definition[0][1].pattern
        self.space = SearchSpace.from_request(self.config.get("ParameterRanges"))
        self.strategy_name = self.config["Strategy"]
        limits = self.config["ResourceLimits"]
        self.max_parallel = int(limits["MaxParallelTrainingJobs"])
        self.max_runtime = limits.get("MaxRuntimeInSeconds")
        self.max_jobs = limits.get("MaxNumberOfTrainingJobs") or (
            self.space.grid_size() if self.strategy_name == "Grid" else None)
        if not self.max_jobs:
            raise ConfigurationError("ResourceLimits.MaxNumberOfTrainingJobs is required (max_jobs)")
        self.strategy = make_strategy(self.strategy_name, self.space, self.objective_type,
                                      self.config.get("RandomSeed"), self.max_jobs)
        self.rule, self.max_resource = self._early_stopping()
        self.parents = self._load_parents()
        self.seeded = self._seed_from_parents()
        self.book = runs.LogBook()
        self.done = threading.Event()
        self.trials = []
        self.training_jobs = {}  # name -> DescribeTrainingJob of the ended ones (for other processes)
        self._running = set()
        self._events = queue.Queue()
        self._lock = threading.RLock()
        self._stop_reason = None
        self._exhausted = False
        self._give_up = None
        self.status = "InProgress"
        self.failure = None
        self.created = self.modified = runs.utc_now()
        self.ended = None
        self._store_warned = False

    # -------------------------------------------------------------- checks
    def _check_request(self):
        if not self.definition:
            raise ConfigurationError("local tuning takes one TrainingJobDefinition (TrainingJobDefinitions, tuning "
                                     "several estimators at once, runs only on SageMaker)")
        if not (self.definition.get("AlgorithmSpecification") or {}).get("TrainingImage"):
            raise ConfigurationError("the training job definition names no TrainingImage (local mode cannot run "
                                     "SageMaker algorithms by AlgorithmName)")
        objective = self.config.get("HyperParameterTuningJobObjective") or {}
        if not objective.get("MetricName") or objective.get("Type", "Maximize") not in OBJECTIVE_TYPES:
            raise ConfigurationError("HyperParameterTuningJobObjective needs a MetricName and a Type of Maximize or "
                                     "Minimize (Autotune runs only on SageMaker)")
        if not (self.config.get("ResourceLimits") or {}).get("MaxParallelTrainingJobs"):
            raise ConfigurationError("ResourceLimits.MaxParallelTrainingJobs is required (max_parallel_jobs)")

    def _early_stopping(self):
        """``(rule or None, MaxResource or None)``: how running jobs are stopped early."""
        auto = self.config.get("TrainingJobEarlyStoppingType", "Off") == "Auto"
        if self.strategy_name == "Hyperband":
            if auto:
                raise ConfigurationError("the Hyperband strategy stops jobs itself: TrainingJobEarlyStoppingType "
                                         "must be Off")
            minimum, maximum = hyperband_resources(self.config.get("StrategyConfig"),
                                                   self.definition.get("StaticHyperParameters"))
            return MedianStoppingRule(self.maximize, MEDIAN_RULE_MIN_JOBS, grace=minimum), maximum
        if auto:
            return MedianStoppingRule(self.maximize, MEDIAN_RULE_MIN_JOBS), None
        return None, None

    def _load_parents(self):
        """The records (``description``, ``summaries``) of the warm start's parent tuning jobs, checked."""
        warm = self.request.get("WarmStartConfig")
        if not warm:
            return []
        kind = warm.get("WarmStartType")
        if kind not in ("IdenticalDataAndAlgorithm", "TransferLearning"):
            raise ConfigurationError(f"WarmStartType {kind!r} is not IdenticalDataAndAlgorithm or TransferLearning")
        parents = []
        for entry in warm.get("ParentHyperParameterTuningJobs") or ():
            name = entry["HyperParameterTuningJobName"]
            record = find(self.client.hyper_parameter_tuning_jobs, name)
            if record is None:
                raise ConfigurationError(f"warm start parent tuning job {name!r} does not exist here (local tuning "
                                         f"jobs are found in this process and in {tuning_store.tuning_jobs_dir()})")
            self._check_parent(name, record["description"], kind)
            parents.append(record)
        return parents

    def _check_parent(self, name, parent, kind):
        status = parent["HyperParameterTuningJobStatus"]
        if status in _RUNNING:
            raise ConfigurationError(f"warm start parent tuning job {name!r} is {status}; wait for it to end")
        objective = parent["HyperParameterTuningJobConfig"].get("HyperParameterTuningJobObjective") or {}
        if (objective.get("MetricName"), objective.get("Type", "Maximize")) != (self.metric, self.objective_type):
            raise ConfigurationError(f"warm start parent tuning job {name!r} {objective.get('Type')}s "
                                     f"{objective.get('MetricName')!r}; a warm start keeps the objective "
                                     f"({self.objective_type} {self.metric!r})")
        if kind != "IdenticalDataAndAlgorithm":
            return
        theirs, ours = parent.get("TrainingJobDefinition") or {}, self.definition
        if _data_and_image(theirs) != _data_and_image(ours):
            raise ConfigurationError(
                f"warm start IdenticalDataAndAlgorithm needs the parent's training image and input data, but parent "
                f"{name!r} used {_data_and_image(theirs)} and this job {_data_and_image(ours)}; use "
                f"WarmStartTypes.TRANSFER_LEARNING to start from a different setup")

    def _seed_from_parents(self):
        """Give the strategy the parents' results that lie in this search space; returns how many."""
        seeded = 0
        for parent in self.parents:
            static = (parent["description"].get("TrainingJobDefinition") or {}).get("StaticHyperParameters") or {}
            for summary in parent.get("summaries") or ():
                metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
                if summary.get("ObjectiveStatus") != "Succeeded" or not metric:
                    continue
                values = self.space.parse({**static, **summary["TunedHyperParameters"]})
                if values is not None:
                    self.strategy.seed(values, metric["Value"])
                    seeded += 1
        return seeded

    # -------------------------------------------------------------- public
    def start(self):
        """Run the search in a thread; stops with the Python process if still running then."""
        self._save()
        _live.add(self)
        threading.Thread(target=self._run, name=f"local-tuning-{self.name}", daemon=True).start()
        return self

    def stop(self, reason="stopped by stop_hyper_parameter_tuning_job"):
        """Stop the search and every running training job; returns once they have ended (bounded)."""
        with self._lock:
            if self.done.is_set():
                return
            if self._stop_reason is None:
                self._stop_reason = reason
            self.status = "Stopping"
            running = list(self._running)
        self._save()
        self._events.put(("wake", None))
        in_parallel(lambda trial: trial.job.stop(f"stopped with tuning job {self.name} ({reason})"), running)
        self.done.wait(STOP_WAIT_SECONDS)

    def describe(self):
        with self._lock:
            description = {
                "HyperParameterTuningJobName": self.name, "HyperParameterTuningJobArn": arn(self.name),
                "HyperParameterTuningJobConfig": self.config, "TrainingJobDefinition": self.definition,
                "HyperParameterTuningJobStatus": self.status, "CreationTime": self.created,
                "LastModifiedTime": self.modified, "TrainingJobStatusCounters": self._status_counters(),
                "ObjectiveStatusCounters": self._objective_counters(),
                "ConsumedResources": {"RuntimeInSeconds": int(((self.ended or runs.utc_now()) - self.created)
                                                              .total_seconds())},
            }
            best = self._best()
            if best is not None:
                description["BestTrainingJob"] = self.summary(best)
            if self.parents:
                description["WarmStartConfig"] = self.request["WarmStartConfig"]
                overall = self._overall_best(description.get("BestTrainingJob"))
                if overall:
                    description["OverallBestTrainingJob"] = overall
            if self.ended is not None:
                description["HyperParameterTuningEndTime"] = self.ended
            if self.failure:
                description["FailureReason"] = self.failure
            return description

    def summaries(self):
        """Every training job's ``HyperParameterTrainingJobSummary``, in start order."""
        with self._lock:
            return [self.summary(trial) for trial in self.trials]

    def summary(self, trial):
        summary = {"TrainingJobName": trial.name, "TrainingJobArn": f"arn:aws:sagemaker:local:000000000000:"
                   f"training-job/{trial.name}", "TuningJobName": self.name, "CreationTime": trial.created,
                   "TrainingJobStatus": trial.status, "TunedHyperParameters": dict(trial.hyperparameters),
                   "ObjectiveStatus": trial.objective_status}
        if trial.started:
            summary["TrainingStartTime"] = trial.started
        if trial.ended:
            summary["TrainingEndTime"] = trial.ended
        if trial.failure:
            summary["FailureReason"] = trial.failure
        if trial.value is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": self.objective_type, "MetricName": self.metric, "Value": trial.value}
        return summary

    def record(self):
        """What :mod:`tuning_store` keeps for other processes."""
        with self._lock:
            return {"description": self.describe(), "summaries": self.summaries(),
                    "training_jobs": dict(self.training_jobs)}

    # -------------------------------------------------------------- the search
    def _run(self):
        self._progress(self._intro())
        try:
            self._search()
            with self._lock:
                self._conclude()
        except BaseException as error:  # a broken strategy or engine ends the job, with its running trials
            with self._lock:
                self.status, self.failure = "Failed", f"the tuning engine failed: {type(error).__name__}: {error}"
                running = list(self._running)
            in_parallel(lambda trial: trial.job.stop(f"stopped: tuning job {self.name} failed"), running)
            log.exception("local tuning job %s failed", self.name)
        finally:
            with self._lock:
                self.ended = self.modified = runs.utc_now()
                outro = self._outro()
            self._save()
            self._progress(outro)
            self.book.close()
            _live.discard(self)
            self.done.set()

    def _search(self):
        deadline = None if self.max_runtime is None else runs.utc_now() + datetime.timedelta(seconds=self.max_runtime)
        while True:
            while self._launch_next():
                pass
            with self._lock:
                if not self._running:
                    return
            timeout = None if deadline is None else max(0.0, (deadline - runs.utc_now()).total_seconds())
            try:
                kind, trial = self._events.get(timeout=timeout)
            except queue.Empty:
                self._out_of_time()
                deadline = None  # the stopped jobs' ends come as events
                continue
            if kind == "ended":
                self._ended(trial)

    def _out_of_time(self):
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = f"stopped after MaxRuntimeInSeconds={self.max_runtime}"
            running = list(self._running)
        self._progress(f"[tuning] {self.name}: MaxRuntimeInSeconds={self.max_runtime} passed; stopping "
                       f"{len(running)} running training job(s)")
        in_parallel(lambda trial: trial.job.stop(f"stopped with tuning job {self.name} (MaxRuntimeInSeconds)"),
                    running)

    def _may_launch(self):
        return (self._stop_reason is None and self._give_up is None and not self._exhausted
                and len(self.trials) < self.max_jobs and len(self._running) < self.max_parallel)

    def _launch_next(self):
        """Start the next training job if the limits allow; True when one was started (or failed to start)."""
        with self._lock:
            if not self._may_launch():
                return False
            suggestion = self.strategy.ask()
            if suggestion is None:
                self._exhausted = True
                return False
            index = len(self.trials) + 1
            trial = Trial(index, f"{self.name}-{index:03d}-{secrets.token_hex(4)}",
                          self.space.texts(suggestion.values), suggestion, runs.utc_now())
            self.trials.append(trial)
            try:
                self.client.create_training_job(**training_request(self.definition, trial.name, trial.hyperparameters))
                trial.job = self.client.training_jobs[trial.name]
            except Exception as error:  # e.g. an image this backend cannot run: a failed job, as SageMaker counts it
                self._close_trial(trial, "Failed", f"the training job could not start: {error}")
                self._after(trial)
                failed = True
            else:
                self._running.add(trial)
                self.modified = runs.utc_now()
                failed = False
        if not failed:
            self._progress(f"[tuning] {trial.name} started: {self._values_text(trial)}")
            threading.Thread(target=self._watch, args=(trial,), name=f"local-tuning-{trial.name}",
                             daemon=True).start()
        self._save()
        return True

    def _watch(self, trial):
        """Follow a training job's log lines: forward them, read the objective, stop the job early when due."""
        try:
            for line in trial.job.logs.follow():
                self.book.add(("training", f"[{trial.index:03d}] {line}"))
                host, separator, text = line.partition(" | ")
                if separator and host.startswith("algo-"):
                    for _, value in parse_line(self.objective_definition, text):
                        self._observe(trial, value)
            trial.job.done.wait()
        finally:
            self._events.put(("ended", trial))

    def _observe(self, trial, value):
        with self._lock:
            trial.objective.append(value)
            if trial.stop_reason is not None or self.rule is None:
                return
            earlier = [other.objective for other in self.trials[:trial.index - 1]]
            reason = self.rule.verdict(trial.objective, earlier)
            if reason is None and self.max_resource and len(trial.objective) >= self.max_resource:
                reason = f"it reached MaxResource={self.max_resource} objective values"
            if reason is None:
                return
            trial.stop_reason = reason
        self._progress(f"[tuning] {trial.name} stopping early: {reason}")
        trial.job.stop(f"stopped early by tuning job {self.name}: {reason}")

    def _ended(self, trial):
        description = trial.job.describe()
        with self._lock:
            self._running.discard(trial)
            trial.started, trial.ended = description.get("TrainingStartTime"), description.get("TrainingEndTime")
            self.training_jobs[trial.name] = description
            self._close_trial(trial, description["TrainingJobStatus"], description.get("FailureReason"))
            self._after(trial)
        self._save()

    def _close_trial(self, trial, status, failure):
        """Set a trial's final status and objective status (SageMaker's rules) and tell the strategy."""
        trial.status = status
        trial.ended = trial.ended or runs.utc_now()
        if status != "Failed" and trial.objective:
            trial.objective_status = "Succeeded"
            trial.failure = failure if status == "Stopped" else None  # says who stopped it, and why
        else:
            trial.objective_status = "Failed"
            trial.failure = failure if status == "Failed" else (
                f"the training job {'completed' if status == 'Completed' else 'was stopped'} without logging the "
                f"objective metric {self.metric!r}: no log line matched its regex {self.regex!r}; make the script "
                f"print it, or fix the Regex in metric_definitions")
        self.strategy.tell(trial.suggestion, trial.value)

    def _after(self, trial):
        """The progress line of an ended trial; give up when the first jobs all failed."""
        self.modified = runs.utc_now()
        failed = [other for other in self.trials if other.objective_status == "Failed"]
        if (self._give_up is None and not any(other.objective_status == "Succeeded" for other in self.trials)
                and len(failed) >= FAILURE_LIMIT):
            self._give_up = (f"the first {len(failed)} training jobs all failed, so the search stopped (a script "
                             f"that cannot run would fail every job); the first failure: {failed[0].failure}")
        self._progress(self._ended_text(trial))

    def _conclude(self):
        best = self._best()
        if self._stop_reason is not None:
            self.status, self.failure = "Stopped", f"the tuning job was {self._stop_reason}"
        elif best is not None:
            self.status = "Completed"
        else:
            self.status = "Failed"
            first = next((trial.failure for trial in self.trials if trial.failure), "no training job ran")
            self.failure = self._give_up or (f"no training job reported the objective metric {self.metric!r}; the "
                                             f"first failure: {first}")

    # -------------------------------------------------------------- results
    def _best(self):
        scored = [trial for trial in self.trials if trial.value is not None]
        if not scored:
            return None
        return (max if self.maximize else min)(scored, key=lambda trial: trial.value)

    def _overall_best(self, own):
        candidates = [own] if own else []
        for parent in self.parents:
            description = parent["description"]
            best = description.get("OverallBestTrainingJob") or description.get("BestTrainingJob")
            if best:
                candidates.append(best)
        if not candidates:
            return None
        value = lambda summary: summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]  # noqa: E731
        return (max if self.maximize else min)(candidates, key=value)

    def _status_counters(self):
        counters = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
        for trial in self.trials:
            counters["NonRetryableError" if trial.status == "Failed" else trial.status] += 1
        return counters

    def _objective_counters(self):
        counters = {"Succeeded": 0, "Pending": 0, "Failed": 0}
        for trial in self.trials:
            counters[trial.objective_status] += 1
        return counters

    # -------------------------------------------------------------- output
    def _progress(self, line):
        self.book.add(("progress", line))

    def _values_text(self, trial):
        texts = []
        for dimension in self.space.dimensions:
            text = trial.hyperparameters[dimension.name]
            texts.append(f"{dimension.name}={float(text):.4g}" if dimension.kind == "Continuous"
                         else f"{dimension.name}={text}")
        return " ".join(texts)

    def _intro(self):
        seeded = f"; warm start: {self.seeded} earlier results" if self.parents else ""
        stopping = (f"; Hyperband stops weak jobs from {self.rule.grace} values on, every job at {self.max_resource}"
                    if self.max_resource else "; early stopping: median rule" if self.rule else "")
        return (f"[tuning] {self.name}: {self.strategy_name} search of {', '.join(self.space.names)}; up to "
                f"{self.max_jobs} training jobs, {self.max_parallel} at a time; objective: {self.objective_type} "
                f"{self.metric}{stopping}{seeded}")

    def _ended_text(self, trial):
        took = f" in {(trial.ended - trial.started).total_seconds():.1f} s" if trial.started and trial.ended else ""
        if trial.value is not None:
            word = "stopped early" if trial.stop_reason else trial.status.lower()
            text = f"[tuning] {trial.name} {word}{took}: {self.metric} = {trial.value:g}"
        else:
            text = f"[tuning] {trial.name} {trial.status.lower()}{took}: {(trial.failure or '').splitlines()[0]}"
        best = self._best()
        if best is not None:
            text += f"; best so far: {best.name} ({best.value:g})"
        return text

    def _outro(self):
        counters = self._status_counters()
        text = (f"[tuning] {self.name}: {self.status} - {len(self.trials)} training jobs: {counters['Completed']} "
                f"completed, {counters['NonRetryableError']} failed, {counters['Stopped']} stopped")
        best = self._best()
        if best is not None:
            text += f"; best: {best.name} {self.metric} = {best.value:g} ({self._values_text(best)})"
        if self.failure and self.status != "Completed":
            text += f"\n[tuning] {self.failure.splitlines()[0]}"
        return text

    def _save(self):
        try:
            tuning_store.write(self.name, self.record())
        except (OSError, TypeError) as error:
            if not self._store_warned:
                self._store_warned = True
                log.warning("tuning job %s runs, but other processes cannot see it: %s", self.name, error)


def _data_and_image(definition):
    channels = sorted((channel.get("ChannelName"), str(channel.get("DataSource")))
                      for channel in definition.get("InputDataConfig") or ())
    return (definition.get("AlgorithmSpecification") or {}).get("TrainingImage"), channels


# ------------------------------------------------------------------ the client's operations

def find(jobs, name):
    """``{"description", "summaries", "training_jobs"}`` of tuning job ``name``: one of ``jobs`` (this
    process), else the record another process wrote; ``None`` when there is none."""
    job = jobs.get(name)
    if job is not None:
        return job.record()
    return tuning_store.read(name)


def create(jobs, client, request):
    """``CreateHyperParameterTuningJob``: check the request and add the job to ``jobs``; the caller starts it."""
    name = request.get("HyperParameterTuningJobName")
    operation = "CreateHyperParameterTuningJob"
    if not isinstance(name, str) or not tuning_store.NAME.fullmatch(name):
        raise client_error("ValidationException", f"HyperParameterTuningJobName {name!r} is not valid: 1 to 32 "
                           f"letters, digits and hyphens, starting and ending with a letter or digit", operation)
    if name in jobs or tuning_store.read(name) is not None:
        raise client_error("ResourceInUse", f"Hyperparameter tuning job {name!r} already exists; pick another "
                           f"name (or delete_hyper_parameter_tuning_job it).", operation)
    try:
        job = TuningJob(request, client)
    except (ConfigurationError, KeyError) as error:
        detail = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        raise client_error("ValidationException", detail, operation) from None
    jobs[name] = job
    return job


def describe(jobs, name):
    record = find(jobs, name)
    if record is None:
        raise _not_found(name, "DescribeHyperParameterTuningJob")
    return record["description"]


def list_page(jobs, request):
    """``ListTrainingJobsForHyperParameterTuningJob``: filtered, sorted, one page (``NextToken`` is an offset)."""
    name = request["HyperParameterTuningJobName"]
    record = find(jobs, name)
    if record is None:
        raise _not_found(name, "ListTrainingJobsForHyperParameterTuningJob")
    summaries = [summary for summary in record["summaries"]
                 if request.get("StatusEquals") in (None, summary["TrainingJobStatus"])]
    sort_by = request.get("SortBy", "Name")
    keys = {"Name": lambda s: s["TrainingJobName"], "CreationTime": lambda s: s["CreationTime"],
            "Status": lambda s: s["TrainingJobStatus"],
            "FinalObjectiveMetricValue": lambda s: (s.get("FinalHyperParameterTuningJobObjectiveMetric") or {})
            .get("Value", float("-inf"))}
    if sort_by not in keys:
        raise client_error("ValidationException", f"SortBy {sort_by!r} is not one of {', '.join(keys)}",
                           "ListTrainingJobsForHyperParameterTuningJob")
    summaries.sort(key=keys[sort_by], reverse=request.get("SortOrder") == "Descending")
    return _page(summaries, request, "TrainingJobSummaries")


def list_tuning_jobs(jobs, request):
    """``ListHyperParameterTuningJobs`` over this process's and the recorded tuning jobs."""
    names = sorted(set(jobs) | set(tuning_store.names()))
    summaries = []
    for name in names:
        record = find(jobs, name)
        if record is None:
            continue
        description = record["description"]
        if request.get("NameContains") and request["NameContains"] not in name:
            continue
        if request.get("StatusEquals") not in (None, description["HyperParameterTuningJobStatus"]):
            continue
        summary = {key: description[key] for key in (
            "HyperParameterTuningJobName", "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus",
            "CreationTime", "LastModifiedTime", "TrainingJobStatusCounters", "ObjectiveStatusCounters")}
        summary["Strategy"] = description["HyperParameterTuningJobConfig"]["Strategy"]
        summary["ResourceLimits"] = description["HyperParameterTuningJobConfig"]["ResourceLimits"]
        if "HyperParameterTuningEndTime" in description:
            summary["HyperParameterTuningEndTime"] = description["HyperParameterTuningEndTime"]
        summaries.append(summary)
    summaries.sort(key=lambda s: s["CreationTime"], reverse=request.get("SortOrder", "Descending") == "Descending")
    return _page(summaries, request, "HyperParameterTuningJobSummaries")


def _page(items, request, key):
    """The page of ``items`` a list request asks for: ``NextToken`` is an offset, ``MaxResults`` the size (100)."""
    start, size = int(request.get("NextToken") or 0), int(request.get("MaxResults") or 100)
    page = {key: items[start:start + size]}
    if start + size < len(items):
        page["NextToken"] = str(start + size)
    return page


def stop(jobs, name):
    job = jobs.get(name)
    if job is not None:
        job.stop()
        return
    record = tuning_store.read(name)
    if record is None:
        raise _not_found(name, "StopHyperParameterTuningJob")
    status = record["description"]["HyperParameterTuningJobStatus"]
    if status in _RUNNING:
        raise client_error("ValidationException", f"local tuning job {name!r} runs in another Python process "
                           f"(pid {record.get('pid')}); stop it there (tuner.stop_tuning_job() or Ctrl-C)",
                           "StopHyperParameterTuningJob")
    raise client_error("ValidationException", f"tuning job {name!r} already ended ({status}).",
                       "StopHyperParameterTuningJob")


def delete(jobs, name):
    job = jobs.get(name)
    status = job.status if job is not None else (describe(jobs, name)["HyperParameterTuningJobStatus"])
    if status in _RUNNING:
        raise client_error("ValidationException", f"tuning job {name!r} is {status}; stop it before deleting it",
                           "DeleteHyperParameterTuningJob")
    jobs.pop(name, None)
    tuning_store.delete(name)


def _not_found(name, operation):
    return client_error("ResourceNotFound", f"Amazon SageMaker can't find a tuning job with name {name} (locally: "
                        f"none in this process, and no record in {tuning_store.tuning_jobs_dir()})", operation)


@atexit.register
def _stop_all():
    """Stop tuning jobs still running when Python exits (before their training jobs are stopped one by one)."""
    for job in list(_live):
        try:
            job.stop("stopped: the Python process exited")
        except Exception:
            pass
