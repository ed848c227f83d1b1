"""Hyperparameter tuning with SageMaker Python SDK v2's names: :class:`HyperparameterTuner` and its ranges.

``HyperparameterTuner(estimator, objective_metric_name, hyperparameter_ranges, ...)`` builds
one ``CreateHyperParameterTuningJob`` request from the estimator's training request (its
hyperparameters become ``StaticHyperParameters``, less the ones searched) and sends it
through ``sagemaker_session.sagemaker_client``: to SageMaker with an AWS session, to local
mode's tuning engine (:mod:`framework_sdk.local.tuning`) with a ``LocalSession`` and
``instance_type="local"``. The same script moves from laptop to AWS by changing the session
and the instance type.

Ranges (:class:`IntegerParameter`, :class:`ContinuousParameter`, :class:`CategoricalParameter`)
are checked when made, by the rules SageMaker applies (:mod:`framework_sdk.tuning_strategies`).
Waiting prints one line per change: locally one per training job start and end (with its
hyperparameters and objective) and the best so far, streamed by the engine; on AWS (and for a
local tuning job of another process) the status counters whenever they change.
"""
from __future__ import annotations

import importlib
import json
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, TextIO, Union

from . import naming
from .estimator import Estimator, EstimatorBase, Framework
from .exceptions import ConfigurationError, UnexpectedStatusException, WaitTimeoutError
from .jobs import StartedJob
from .metrics import compile_metric_definitions
from .session import Session, format_tags, waits
from .tuning_strategies import OBJECTIVE_TYPES, STRATEGIES, Dimension, SearchSpace, hyperband_resources

if TYPE_CHECKING:
    import os

    import pandas

    from ._types import Inputs, Request, Response, Tags
    from .predictor import Predictor
    from .serializers import BaseDeserializer, BaseSerializer
    from .transformer import Transformer

LOGGER = logging.getLogger(__name__)

TUNING_JOB_NAME_MAX_LENGTH = 32
ESTIMATOR_MODULE = "sagemaker_estimator_module"
ESTIMATOR_CLASS_NAME = "sagemaker_estimator_class_name"
EARLY_STOPPING_TYPES = ("Off", "Auto")
_DONE = ("Completed", "Failed", "Stopped")
# CreateTrainingJob fields a TrainingJobDefinition carries over as they are.
_DEFINITION_KEYS = ("RoleArn", "InputDataConfig", "VpcConfig", "OutputDataConfig", "ResourceConfig",
                    "StoppingCondition", "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
                    "EnableManagedSpotTraining", "CheckpointConfig", "RetryStrategy", "Environment")
# Framework images whose estimator attach() finds by the image name (no class metadata in the job).
_FRAMEWORK_ESTIMATORS = {"chainer": ("framework_sdk.chainer", "Chainer")}
_OUR_PREFIX = "framework-sdk-"  # of our framework images' repositories


# ------------------------------------------------------------------------------------ ranges

class ParameterRange:
    """A numeric range: ``min_value``, ``max_value`` and ``scaling_type`` (``Auto``, ``Linear``,
    ``Logarithmic``, ``ReverseLogarithmic``); checked when made."""

    range_type: ClassVar[str] = ""

    def __init__(self, min_value: float, max_value: float, scaling_type: str = "Auto") -> None:
        self.min_value = min_value
        self.max_value = max_value
        self.scaling_type = scaling_type
        Dimension.from_range(self.range_type, self.as_tuning_range("value"))

    def is_valid(self, value: Any) -> bool:
        return bool(self.min_value <= value <= self.max_value)

    @classmethod
    def cast_to_type(cls, value: Any) -> Any:
        return float(value)

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        """This range in the request's ``ParameterRanges`` (values as strings, as SageMaker takes them)."""
        return {"Name": name, "MinValue": str(self.min_value), "MaxValue": str(self.max_value),
                "ScalingType": self.scaling_type}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.min_value!r}, {self.max_value!r}, scaling_type={self.scaling_type!r})"


class ContinuousParameter(ParameterRange):
    """``ContinuousParameter(min_value, max_value, scaling_type="Auto")``: any real value in the range."""

    range_type = "Continuous"


class IntegerParameter(ParameterRange):
    """``IntegerParameter(min_value, max_value, scaling_type="Auto")``: whole numbers in the range."""

    range_type = "Integer"

    @classmethod
    def cast_to_type(cls, value: Any) -> Any:
        return int(value)


class CategoricalParameter:
    """``CategoricalParameter(values)``: one of ``values`` (a single value is accepted too)."""

    range_type: ClassVar[str] = "Categorical"

    def __init__(self, values: Sequence[Any] | Any) -> None:
        self.values = list(values) if isinstance(values, (list, tuple)) else [values]
        Dimension.from_range("Categorical", self.as_tuning_range("value"))

    def is_valid(self, value: Any) -> bool:
        return value in self.values

    @classmethod
    def cast_to_type(cls, value: Any) -> Any:
        return str(value)

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        return {"Name": name, "Values": [str(value) for value in self.values]}

    def as_json_range(self, name: str) -> dict[str, Any]:
        """The range for a framework estimator, whose hyperparameters are JSON-encoded (``'adam'`` -> ``'"adam"'``)."""
        return {"Name": name, "Values": [json.dumps(value) for value in self.values]}

    def __repr__(self) -> str:
        return f"CategoricalParameter({self.values!r})"


Range = Union[ParameterRange, CategoricalParameter]


# -------------------------------------------------------------------- warm start, strategy config

class WarmStartTypes(Enum):
    """How a tuning job starts from earlier ones: the same data and image, or a changed setup."""

    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


class WarmStartConfig:
    """``WarmStartConfig(warm_start_type, parents)``: seed a search with the results of up to 5 earlier tuning jobs."""

    def __init__(self, warm_start_type: WarmStartTypes | str, parents: Sequence[str] | str) -> None:
        try:
            self.type = WarmStartTypes(warm_start_type)
        except ValueError:
            raise ConfigurationError(f"warm_start_type {warm_start_type!r} is not one of "
                                     f"{', '.join(t.value for t in WarmStartTypes)}") from None
        self.parents = {parents} if isinstance(parents, str) else set(parents)
        if not 1 <= len(self.parents) <= 5:
            raise ConfigurationError(f"warm start takes 1 to 5 parent tuning jobs, got {len(self.parents)}")

    @classmethod
    def from_job_desc(cls, warm_start_config: Mapping[str, Any] | None) -> WarmStartConfig | None:
        if not warm_start_config:
            return None
        return cls(warm_start_config["WarmStartType"],
                   [parent["HyperParameterTuningJobName"] for parent in warm_start_config["ParentHyperParameterTuningJobs"]])

    def to_input_req(self) -> dict[str, Any]:
        return {"WarmStartType": self.type.value,
                "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": name}
                                                   for name in sorted(self.parents)]}


class HyperbandStrategyConfig:
    """``HyperbandStrategyConfig(max_resource=None, min_resource=None)``: the epochs a Hyperband job may use."""

    def __init__(self, max_resource: int | None = None, min_resource: int | None = None) -> None:
        self.max_resource = max_resource
        self.min_resource = min_resource

    def to_input_req(self) -> dict[str, int]:
        request = {}
        if self.min_resource is not None:
            request["MinResource"] = self.min_resource
        if self.max_resource is not None:
            request["MaxResource"] = self.max_resource
        return request


class StrategyConfig:
    """``StrategyConfig(hyperband_strategy_config)``: the ``StrategyConfig`` of a Hyperband search."""

    def __init__(self, hyperband_strategy_config: HyperbandStrategyConfig) -> None:
        self.hyperband_strategy_config = hyperband_strategy_config

    @classmethod
    def from_job_desc(cls, strategy_config: Mapping[str, Any] | None) -> StrategyConfig | None:
        hyperband = (strategy_config or {}).get("HyperbandStrategyConfig")
        if hyperband is None:
            return None
        return cls(HyperbandStrategyConfig(hyperband.get("MaxResource"), hyperband.get("MinResource")))

    def to_input_req(self) -> dict[str, Any]:
        return {"HyperbandStrategyConfig": self.hyperband_strategy_config.to_input_req()}


# ------------------------------------------------------------------------------------ the tuner

def tuning_job_name(base: str) -> str:
    """``<base>-<yymmdd-HHMMSS-mmm>`` in SageMaker's 32 characters for tuning job names.

    Of the 14 characters left for the base, none go to our images' ``framework-sdk-`` prefix:
    ``framework-sdk-chainer`` gives ``chainer-261202-055317-856``.
    """
    now = time.time()
    stamp = time.strftime("%y%m%d-%H%M%S", time.gmtime(now)) + f"-{int(now * 1000) % 1000:03d}"
    stem = naming.sanitize(base)
    stem = stem[len(_OUR_PREFIX):] if stem.startswith(_OUR_PREFIX) and len(stem) > len(_OUR_PREFIX) else stem
    stem = stem[: TUNING_JOB_NAME_MAX_LENGTH - len(stamp) - 1].rstrip("-") or "tuning"
    return f"{stem}-{stamp}"


def _check_positive(name: str, value: object, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")


def _check_arguments(strategy: str, objective_type: str, early_stopping_type: str,
                     strategy_config: StrategyConfig | None, max_jobs: int | None, max_parallel_jobs: int,
                     max_runtime_in_seconds: int | None, random_seed: int | None,
                     hyperparameter_ranges: Mapping[str, Range]) -> None:
    """Raise :class:`ConfigurationError` for a tuner argument SageMaker would refuse."""
    if strategy not in STRATEGIES:
        raise ConfigurationError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if objective_type not in OBJECTIVE_TYPES:
        raise ConfigurationError(f"objective_type {objective_type!r} is not one of {', '.join(OBJECTIVE_TYPES)}")
    if early_stopping_type not in EARLY_STOPPING_TYPES:
        raise ConfigurationError(f"early_stopping_type {early_stopping_type!r} is not 'Off' or 'Auto'")
    if strategy == "Hyperband" and early_stopping_type != "Off":
        raise ConfigurationError("the Hyperband strategy stops weak training jobs itself: leave "
                                 "early_stopping_type='Off' (or use 'Auto' with another strategy)")
    if strategy_config is not None and strategy != "Hyperband":
        raise ConfigurationError("strategy_config configures Hyperband only: pass strategy='Hyperband' or drop it")
    _check_positive("max_jobs", max_jobs, allow_none=True)
    _check_positive("max_parallel_jobs", max_parallel_jobs)
    if max_runtime_in_seconds is not None and not 120 <= max_runtime_in_seconds <= 15768000:
        raise ConfigurationError(f"max_runtime_in_seconds must be from 120 to 15768000, got {max_runtime_in_seconds!r}")
    if random_seed is not None and (not isinstance(random_seed, int) or random_seed < 0):
        raise ConfigurationError(f"random_seed must be a non-negative integer, got {random_seed!r}")
    if not hyperparameter_ranges:
        raise ConfigurationError("hyperparameter_ranges is empty: map at least one hyperparameter name to an "
                                 "IntegerParameter, ContinuousParameter or CategoricalParameter")


class HyperparameterTuningJob(StartedJob):
    """A started tuning job: ``name``, ``describe()``, ``wait(logs=False)``, ``stop()``."""

    def describe(self) -> Response:
        description: Response = self.sagemaker_session.sagemaker_client.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=self.name)
        return description

    def wait(self, logs: bool = False, poll: float = 5.0, timeout: float | None = None,
             out: TextIO | None = None) -> Response:
        """Follow the tuning job to its end, printing its progress; raise if it failed."""
        return wait_for_tuning_job(self.sagemaker_session, self.name, logs=logs, poll=poll, timeout=timeout, out=out)

    def stop(self) -> None:
        self.sagemaker_session.sagemaker_client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=self.name)


class HyperparameterTuner:
    """Tune an estimator's hyperparameters: SageMaker v2's ``HyperparameterTuner``.

    ``strategy``: ``Bayesian`` (default; locally optuna's TPE sampler, the ``[tuning]`` extra),
    ``Random``, ``Grid`` (categorical ranges only; ``max_jobs`` defaults to every combination)
    or ``Hyperband`` (needs ``early_stopping_type='Off'``: it stops weak jobs itself).
    ``early_stopping_type='Auto'`` stops a job whose objective falls below the median of earlier
    jobs at the same point. ``random_seed`` makes Random and Bayesian searches repeat.
    ``metric_definitions`` (default: the estimator's) must define ``objective_metric_name``.
    """

    def __init__(self, estimator: EstimatorBase, objective_metric_name: str,
                 hyperparameter_ranges: Mapping[str, Range], metric_definitions: Sequence[Mapping[str, str]] | None = None,
                 strategy: str = "Bayesian", objective_type: str = "Maximize", max_jobs: int | None = None,
                 max_parallel_jobs: int = 1, max_runtime_in_seconds: int | None = None, tags: Tags | None = None,
                 base_tuning_job_name: str | None = None, warm_start_config: WarmStartConfig | None = None,
                 strategy_config: StrategyConfig | None = None, early_stopping_type: str = "Off",
                 random_seed: int | None = None) -> None:
        if not isinstance(estimator, EstimatorBase):
            raise ConfigurationError(f"estimator must be a framework_sdk estimator, got {type(estimator).__name__}")
        _check_arguments(strategy, objective_type, early_stopping_type, strategy_config, max_jobs, max_parallel_jobs,
                         max_runtime_in_seconds, random_seed, hyperparameter_ranges)
        self.estimator = estimator
        self.objective_metric_name = objective_metric_name
        self._hyperparameter_ranges = dict(hyperparameter_ranges)
        self.metric_definitions = list(metric_definitions) if metric_definitions else None
        self.strategy = strategy
        self.objective_type = objective_type
        self.max_parallel_jobs = max_parallel_jobs
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.tags = tags
        self.base_tuning_job_name = base_tuning_job_name
        self.warm_start_config = warm_start_config
        self.strategy_config = strategy_config
        self.early_stopping_type = early_stopping_type
        self.random_seed = random_seed
        self._space = SearchSpace.from_request(self.hyperparameter_ranges())
        if strategy == "Grid":
            if any(d.kind != "Categorical" for d in self._space.dimensions):
                raise ConfigurationError("the Grid strategy searches only CategoricalParameter ranges: make each "
                                         "range categorical, or use strategy='Random' or 'Bayesian'")
            max_jobs = max_jobs or self._space.grid_size()
        self.max_jobs = max_jobs or 1
        self._check_objective_definition()
        self.latest_tuning_job: HyperparameterTuningJob | None = None
        self._current_job_name: str | None = None

    # ------------------------------------------------------------------ request
    @property
    def sagemaker_session(self) -> Session:
        return self.estimator.sagemaker_session

    def _metric_definitions(self) -> list[Mapping[str, str]]:
        return list(self.metric_definitions or self.estimator.metric_definitions or [])

    def _check_objective_definition(self) -> None:
        definitions = self._metric_definitions()
        compile_metric_definitions(definitions)  # a bad regex fails here, not in the tuning job
        if not any(definition.get("Name") == self.objective_metric_name for definition in definitions):
            defined = ", ".join(repr(d.get("Name")) for d in definitions) or "none"
            raise ConfigurationError(
                f"objective metric {self.objective_metric_name!r} has no regex (metric definitions: {defined}): pass "
                f"metric_definitions=[{{'Name': {self.objective_metric_name!r}, 'Regex': '<a regex capturing the "
                f"value in the training log>'}}]")

    def hyperparameter_ranges(self) -> dict[str, list[dict[str, Any]]]:
        """The request's ``ParameterRanges``: categorical values JSON-encoded for framework estimators."""
        ranges: dict[str, list[dict[str, Any]]] = {}
        keys = {"Integer": "IntegerParameterRanges", "Continuous": "ContinuousParameterRanges",
                "Categorical": "CategoricalParameterRanges"}
        for name, parameter in self._hyperparameter_ranges.items():
            if not isinstance(parameter, (ParameterRange, CategoricalParameter)):
                raise ConfigurationError(f"hyperparameter_ranges[{name!r}] must be an IntegerParameter, "
                                         f"ContinuousParameter or CategoricalParameter, got {parameter!r}")
            if isinstance(parameter, CategoricalParameter) and isinstance(self.estimator, Framework):
                spec = parameter.as_json_range(name)
            else:
                spec = parameter.as_tuning_range(name)
            ranges.setdefault(keys[parameter.range_type], []).append(spec)
        return ranges

    def _static_hyperparameters(self, training: Request, include_cls_metadata: bool) -> dict[str, str]:
        static = {key: value for key, value in (training.get("HyperParameters") or {}).items()
                  if key not in self._hyperparameter_ranges}
        if include_cls_metadata:
            static[ESTIMATOR_MODULE] = json.dumps(type(self.estimator).__module__)
            static[ESTIMATOR_CLASS_NAME] = json.dumps(type(self.estimator).__name__)
        return static

    def _tuning_job_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "Strategy": self.strategy,
            "HyperParameterTuningJobObjective": {"Type": self.objective_type, "MetricName": self.objective_metric_name},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": self.max_jobs, "MaxParallelTrainingJobs": self.max_parallel_jobs},
            "ParameterRanges": self.hyperparameter_ranges(),
            "TrainingJobEarlyStoppingType": self.early_stopping_type,
        }
        if self.max_runtime_in_seconds is not None:
            config["ResourceLimits"]["MaxRuntimeInSeconds"] = self.max_runtime_in_seconds
        if self.random_seed is not None:
            config["RandomSeed"] = self.random_seed
        if self.strategy_config is not None:
            config["StrategyConfig"] = self.strategy_config.to_input_req()
        return config

    def _tuning_request(self, job_name: str, inputs: Inputs | None, include_cls_metadata: bool) -> Request:
        training = self.estimator._training_request(job_name, inputs)  # checks inputs, stages the code
        algorithm = {key: value for key, value in training["AlgorithmSpecification"].items()
                     if key in ("TrainingImage", "TrainingInputMode", "AlgorithmName")}
        algorithm["MetricDefinitions"] = [dict(d) for d in self._metric_definitions()]
        definition: dict[str, Any] = {
            "StaticHyperParameters": self._static_hyperparameters(training, include_cls_metadata),
            "AlgorithmSpecification": algorithm,
        }
        definition.update({key: training[key] for key in _DEFINITION_KEYS if key in training})
        config = self._tuning_job_config()
        if self.strategy == "Hyperband":
            hyperband_resources(config.get("StrategyConfig"), definition["StaticHyperParameters"])
        request: Request = {"HyperParameterTuningJobName": job_name, "HyperParameterTuningJobConfig": config,
                            "TrainingJobDefinition": definition}
        if self.warm_start_config is not None:
            request["WarmStartConfig"] = self.warm_start_config.to_input_req()
        tags = self.tags or training.get("Tags")
        if tags:
            request["Tags"] = format_tags(tags)
        return request

    # ------------------------------------------------------------------ running
    def fit(self, inputs: Inputs | None = None, job_name: str | None = None, include_cls_metadata: bool = False,
            wait: bool = True, logs: bool = False) -> None:
        """Start the tuning job on ``inputs`` (as :meth:`EstimatorBase.fit` takes them) and, with ``wait``,
        follow it to the end. ``logs=True`` also prints the training jobs' own log lines (locally).
        ``include_cls_metadata`` records the estimator's class in the static hyperparameters, so
        :meth:`attach` rebuilds that class without ``estimator_cls``."""
        if job_name is not None:
            name = job_name
            if len(name) > TUNING_JOB_NAME_MAX_LENGTH or naming.validate(name, "job_name") != name:
                raise ConfigurationError(f"job_name {name!r} is longer than SageMaker's {TUNING_JOB_NAME_MAX_LENGTH} "
                                         f"characters for tuning jobs")
        else:
            name = tuning_job_name(self.base_tuning_job_name or self.estimator._base_name())
        request = self._tuning_request(name, inputs, include_cls_metadata)
        self.sagemaker_session.sagemaker_client.create_hyper_parameter_tuning_job(**request)
        self._current_job_name = name
        self.latest_tuning_job = HyperparameterTuningJob(self.sagemaker_session, name)
        if wait:
            self.latest_tuning_job.wait(logs=logs)

    def _ensure_last_tuning_job(self) -> HyperparameterTuningJob:
        if self.latest_tuning_job is None:
            raise ConfigurationError("no tuning job yet: call fit() first, or HyperparameterTuner.attach(name)")
        return self.latest_tuning_job

    def wait(self, logs: bool = False) -> Response:
        """Wait for the latest tuning job to end, printing its progress; raise if it failed."""
        return self._ensure_last_tuning_job().wait(logs=logs)

    def describe(self) -> Response:
        """``DescribeHyperParameterTuningJob`` of the latest tuning job."""
        return self._ensure_last_tuning_job().describe()

    def stop_tuning_job(self) -> None:
        """Stop the latest tuning job and its running training jobs."""
        self._ensure_last_tuning_job().stop()

    def best_training_job(self) -> str:
        """The name of the best training job so far (its objective the highest, or lowest to minimize)."""
        job = self._ensure_last_tuning_job()
        best = job.describe().get("BestTrainingJob")
        if not best:
            raise ConfigurationError(f"tuning job {job.name!r} has no best training job yet: no training job has "
                                     f"reported {self.objective_metric_name!r} so far (tuner.wait(), or check the "
                                     f"jobs with tuner.analytics().dataframe())")
        name: str = best["TrainingJobName"]
        return name

    def best_estimator(self, best_training_job: Mapping[str, str] | str | None = None) -> EstimatorBase:
        """An estimator attached to the best training job (or the one given): ``deploy()`` it, ``transformer()`` ..."""
        if best_training_job is None:
            name = self.best_training_job()
        elif isinstance(best_training_job, str):
            name = best_training_job
        else:
            name = best_training_job["TrainingJobName"]
        return type(self.estimator).attach(name, sagemaker_session=self.sagemaker_session)

    def deploy(self, initial_instance_count: int, instance_type: str, serializer: BaseSerializer | None = None,
               deserializer: BaseDeserializer | None = None, accelerator_type: str | None = None,
               endpoint_name: str | None = None, wait: bool = True, model_name: str | None = None,
               kms_key: str | None = None, **kwargs: Any) -> Predictor:
        """Deploy the best training job's model to an endpoint named after that job (unless ``endpoint_name``)."""
        best = self.best_training_job()
        return self.best_estimator(best).deploy(
            initial_instance_count=initial_instance_count, instance_type=instance_type, serializer=serializer,
            deserializer=deserializer, accelerator_type=accelerator_type, endpoint_name=endpoint_name or best,
            wait=wait, model_name=model_name, kms_key=kms_key, **kwargs)

    def transformer(self, instance_count: int, instance_type: str, **kwargs: Any) -> Transformer:
        """A :class:`~framework_sdk.Transformer` for batch inference with the best training job's model."""
        return self.best_estimator().transformer(instance_count, instance_type, **kwargs)

    def analytics(self) -> HyperparameterTuningJobAnalytics:
        """The training jobs of the latest tuning job as a table (``dataframe()``)."""
        return HyperparameterTuningJobAnalytics(self._ensure_last_tuning_job().name, self.sagemaker_session)

    # ------------------------------------------------------------------ warm start
    def transfer_learning_tuner(self, additional_parents: Sequence[str] | None = None,
                                estimator: EstimatorBase | None = None) -> HyperparameterTuner:
        """A new tuner warm-started (``TransferLearning``) from the latest tuning job and ``additional_parents``."""
        return self._warm_start_tuner(WarmStartTypes.TRANSFER_LEARNING, additional_parents, estimator)

    def identical_dataset_and_algorithm_tuner(self,
                                              additional_parents: Sequence[str] | None = None) -> HyperparameterTuner:
        """A new tuner warm-started (``IdenticalDataAndAlgorithm``) from the latest tuning job and ``additional_parents``."""
        return self._warm_start_tuner(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, additional_parents, None)

    def _warm_start_tuner(self, kind: WarmStartTypes, additional_parents: Sequence[str] | None,
                          estimator: EstimatorBase | None) -> HyperparameterTuner:
        parents = [self._ensure_last_tuning_job().name, *(additional_parents or ())]
        return HyperparameterTuner(
            estimator or self.estimator, self.objective_metric_name, self._hyperparameter_ranges,
            metric_definitions=self.metric_definitions, strategy=self.strategy, objective_type=self.objective_type,
            max_jobs=self.max_jobs, max_parallel_jobs=self.max_parallel_jobs,
            max_runtime_in_seconds=self.max_runtime_in_seconds, tags=self.tags,
            base_tuning_job_name=self.base_tuning_job_name, warm_start_config=WarmStartConfig(kind, parents),
            strategy_config=self.strategy_config, early_stopping_type=self.early_stopping_type,
            random_seed=self.random_seed)

    # ------------------------------------------------------------------ attach
    @classmethod
    def attach(cls, tuning_job_name: str, sagemaker_session: Session | None = None,
               job_details: Response | None = None,
               estimator_cls: type[EstimatorBase] | str | None = None) -> HyperparameterTuner:
        """Rebuild a tuner (and its estimator) from an existing tuning job, on AWS or local.

        ``estimator_cls`` (a class, or ``'module.Class'``) defaults to the class recorded with
        ``fit(include_cls_metadata=True)``, else the framework's estimator for a framework image
        (``Chainer``), else :class:`~framework_sdk.Estimator`.
        """
        if sagemaker_session is None:
            sagemaker_session = Session()
        details = job_details or sagemaker_session.sagemaker_client.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_job_name)
        definition = details.get("TrainingJobDefinition")
        if not definition:
            raise ConfigurationError(f"tuning job {tuning_job_name!r} tunes several training job definitions; "
                                     f"only single-estimator tuning jobs can be attached")
        estimator_class = _estimator_class(estimator_cls, definition)
        estimator = _estimator_from_definition(estimator_class, definition, sagemaker_session)
        config = details["HyperParameterTuningJobConfig"]
        objective = config.get("HyperParameterTuningJobObjective") or {}
        limits = config["ResourceLimits"]
        tuner = cls(estimator, objective["MetricName"],
                    _ranges_from_request(config.get("ParameterRanges") or {}, issubclass(estimator_class, Framework)),
                    metric_definitions=definition["AlgorithmSpecification"].get("MetricDefinitions"),
                    strategy=config["Strategy"], objective_type=objective.get("Type", "Maximize"),
                    max_jobs=limits.get("MaxNumberOfTrainingJobs"),
                    max_parallel_jobs=limits.get("MaxParallelTrainingJobs", 1),
                    max_runtime_in_seconds=limits.get("MaxRuntimeInSeconds"),
                    warm_start_config=WarmStartConfig.from_job_desc(details.get("WarmStartConfig")),
                    strategy_config=StrategyConfig.from_job_desc(config.get("StrategyConfig")),
                    early_stopping_type=config.get("TrainingJobEarlyStoppingType", "Off"),
                    random_seed=config.get("RandomSeed"))
        tuner._current_job_name = tuning_job_name
        tuner.latest_tuning_job = HyperparameterTuningJob(sagemaker_session, tuning_job_name)
        return tuner


def _estimator_class(estimator_cls: type[EstimatorBase] | str | None,
                     definition: Mapping[str, Any]) -> type[EstimatorBase]:
    if isinstance(estimator_cls, type):
        return estimator_cls
    if isinstance(estimator_cls, str):
        module, _, name = estimator_cls.rpartition(".")
        return _import_class(module, name)
    static = definition.get("StaticHyperParameters") or {}
    if ESTIMATOR_MODULE in static and ESTIMATOR_CLASS_NAME in static:
        return _import_class(json.loads(static[ESTIMATOR_MODULE]), json.loads(static[ESTIMATOR_CLASS_NAME]))
    repository = naming.base_name_from_image(definition["AlgorithmSpecification"].get("TrainingImage"))
    framework = repository[len(_OUR_PREFIX):] if repository.startswith(_OUR_PREFIX) else None
    if framework in _FRAMEWORK_ESTIMATORS:
        return _import_class(*_FRAMEWORK_ESTIMATORS[framework])
    return Estimator


def _import_class(module: str, name: str) -> type[EstimatorBase]:
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(f"cannot import estimator class {module}.{name} ({error}); pass estimator_cls= "
                                 f"to attach") from None
    if not (isinstance(found, type) and issubclass(found, EstimatorBase)):
        raise ConfigurationError(f"{module}.{name} is not an estimator class; pass estimator_cls= to attach")
    return found


def _estimator_from_definition(estimator_cls: type[EstimatorBase], definition: Mapping[str, Any],
                               session: Session) -> EstimatorBase:
    """The estimator a ``TrainingJobDefinition`` describes, rebuilt as ``attach`` rebuilds one from a job."""
    details = {key: value for key, value in definition.items()
               if key not in ("StaticHyperParameters", "HyperParameterRanges", "TuningObjective", "DefinitionName")}
    static = {key: value for key, value in (definition.get("StaticHyperParameters") or {}).items()
              if key not in (ESTIMATOR_MODULE, ESTIMATOR_CLASS_NAME)}
    details.update(TrainingJobName="", HyperParameters=static)
    params = estimator_cls._prepare_init_params_from_job_description(details)
    params.pop("base_job_name", None)
    params["sagemaker_session"] = session
    return estimator_cls(**params)


def _ranges_from_request(parameter_ranges: Mapping[str, Any], json_values: bool) -> dict[str, Range]:
    ranges: dict[str, Range] = {}
    for spec in parameter_ranges.get("IntegerParameterRanges") or ():
        ranges[spec["Name"]] = IntegerParameter(int(spec["MinValue"]), int(spec["MaxValue"]),
                                                spec.get("ScalingType", "Auto"))
    for spec in parameter_ranges.get("ContinuousParameterRanges") or ():
        ranges[spec["Name"]] = ContinuousParameter(float(spec["MinValue"]), float(spec["MaxValue"]),
                                                   spec.get("ScalingType", "Auto"))
    for spec in parameter_ranges.get("CategoricalParameterRanges") or ():
        values = [_json_or_text(value) for value in spec["Values"]] if json_values else list(spec["Values"])
        ranges[spec["Name"]] = CategoricalParameter(values)
    return ranges


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


# ------------------------------------------------------------------------------------ waiting

def progress_line(description: Mapping[str, Any]) -> str:
    """``<name>: <status> - N completed, N running, N failed, N stopped; best: <job> (<metric> = <value>)``."""
    counters = description.get("TrainingJobStatusCounters") or {}
    failed = counters.get("NonRetryableError", 0) + counters.get("RetryableError", 0)
    line = (f"[tuning] {description['HyperParameterTuningJobName']}: {description['HyperParameterTuningJobStatus']}"
            f" - {counters.get('Completed', 0)} completed, {counters.get('InProgress', 0)} running, {failed} failed, "
            f"{counters.get('Stopped', 0)} stopped")
    best = description.get("BestTrainingJob")
    if best:
        metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        line += f"; best: {best['TrainingJobName']} ({metric.get('MetricName')} = {metric.get('Value'):g})"
    return line


def wait_for_tuning_job(session: Session, name: str, logs: bool = False, poll: float = 5.0,
                        timeout: float | None = None, out: TextIO | None = None) -> Response:
    """Follow tuning job ``name`` to its end, printing its progress; return its description.

    A local tuning job running in this process streams the engine's lines (``logs=True`` adds the
    training jobs' own lines) and Ctrl-C stops it; otherwise the description is polled (every
    ``poll`` seconds at most) and a line printed whenever the counters change. A ``Failed`` job
    raises :class:`UnexpectedStatusException` with its ``FailureReason``.
    """
    out = out or sys.stdout
    local = getattr(session.sagemaker_client, "hyper_parameter_tuning_jobs", {}).get(name)
    if local is not None:
        description = _follow_local(local, logs, timeout, out)
    else:
        description = _poll(session, name, poll, timeout, out)
    status = description["HyperParameterTuningJobStatus"]
    if status == "Failed":
        reason = description.get("FailureReason")
        raise UnexpectedStatusException(f"tuning job {name!r} failed: {reason or 'no reason given'}",
                                        ("Completed", "Stopped"), status, reason, name)
    if status == "Stopped":
        LOGGER.warning("tuning job %s was stopped: %s", name, description.get("FailureReason", ""))
    return description


def _follow_local(run: Any, logs: bool, timeout: float | None, out: TextIO) -> Response:
    deadline = None if timeout is None else time.monotonic() + timeout
    seen = 0

    def show(start: int, shown: tuple[str, ...]) -> None:
        nonlocal seen
        for kind, text in run.book.follow(start):
            seen += 1
            if kind in shown:
                out.write(text + "\n")
                out.flush()
            if deadline is not None and time.monotonic() > deadline:
                raise WaitTimeoutError(f"tuning job {run.name!r} is still running after {timeout} s")

    try:
        show(0, ("progress", "training") if logs else ("progress",))
        run.done.wait()
    except KeyboardInterrupt:
        run.stop("interrupted (Ctrl-C)")
        deadline = None
        show(seen, ("progress",))  # how the stopped jobs ended, and the tuning job
        raise
    description: Response = run.describe()
    return description


def _poll(session: Session, name: str, poll: float, timeout: float | None, out: TextIO) -> Response:
    printed: list[str] = []

    def describe() -> Response:
        description: Response = session.sagemaker_client.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name)
        line = progress_line(description)
        if line not in printed[-1:]:  # a line per change, not per poll
            out.write(line + "\n")
            out.flush()
            printed.append(line)
        return description

    return waits.wait(describe, "HyperParameterTuningJobStatus", _DONE, f"tuning job {name!r}", poll, timeout)


# ---------------------------------------------------------------------------------- analytics

class HyperparameterTuningJobAnalytics:
    """The training jobs of a tuning job as a table: SageMaker v2's ``HyperparameterTuningJobAnalytics``.

    ``dataframe()`` has one row per training job: each tuned hyperparameter (as a number for numeric
    ranges), ``TrainingJobName``, ``TrainingJobStatus``, ``FinalObjectiveValue``, ``ObjectiveStatus``,
    ``TrainingStartTime``, ``TrainingEndTime``, ``TrainingElapsedTimeSeconds`` and ``FailureReason``
    (a pandas DataFrame, or a list of dicts without pandas). Results are cached; pass
    ``force_refresh=True`` (or call :meth:`clear_cache`) while the job runs.
    """

    COLUMNS = ("TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue", "ObjectiveStatus", "TrainingStartTime",
               "TrainingEndTime", "TrainingElapsedTimeSeconds", "FailureReason")

    def __init__(self, hyperparameter_tuning_job_name: str, sagemaker_session: Session | None = None) -> None:
        if sagemaker_session is None:
            sagemaker_session = Session()
        self.sagemaker_session = sagemaker_session
        self._name = hyperparameter_tuning_job_name
        self.clear_cache()

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"<HyperparameterTuningJobAnalytics for {self.name}>"

    def clear_cache(self) -> None:
        self._description: Response | None = None
        self._summaries: list[Response] | None = None

    def description(self, force_refresh: bool = False) -> Response:
        """``DescribeHyperParameterTuningJob`` (cached)."""
        if force_refresh or self._description is None:
            self._description = self.sagemaker_session.sagemaker_client.describe_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=self.name)
        return self._description

    def training_job_summaries(self, force_refresh: bool = False) -> list[Response]:
        """Every ``ListTrainingJobsForHyperParameterTuningJob`` summary, all pages, by training job name (cached)."""
        if force_refresh or self._summaries is None:
            summaries: list[Response] = []
            request: dict[str, Any] = {"HyperParameterTuningJobName": self.name, "MaxResults": 100}
            while True:
                page = self.sagemaker_session.sagemaker_client.list_training_jobs_for_hyper_parameter_tuning_job(
                    **request)
                summaries.extend(page["TrainingJobSummaries"])
                if not page.get("NextToken"):
                    break
                request["NextToken"] = page["NextToken"]
            self._summaries = sorted(summaries, key=lambda summary: summary["TrainingJobName"])
        return self._summaries

    @property
    def tuning_ranges(self) -> dict[str, dict[str, Any]]:
        """The searched ranges by hyperparameter name, as in the request."""
        ranges = self.description()["HyperParameterTuningJobConfig"].get("ParameterRanges") or {}
        return {spec["Name"]: dict(spec) for specs in ranges.values() for spec in specs or ()}

    def records(self, force_refresh: bool = False) -> list[dict[str, Any]]:
        """The rows of :meth:`dataframe` as dicts."""
        space = SearchSpace.from_request(self.description(force_refresh)["HyperParameterTuningJobConfig"]
                                         .get("ParameterRanges"))
        dimensions = {dimension.name: dimension for dimension in space.dimensions}
        rows = []
        for summary in self.training_job_summaries(force_refresh):
            row: dict[str, Any] = {}
            for key, text in (summary.get("TunedHyperParameters") or {}).items():
                row[key] = dimensions[key].cast(text) if key in dimensions else text
            metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
            start, end = summary.get("TrainingStartTime"), summary.get("TrainingEndTime")
            row.update(TrainingJobName=summary["TrainingJobName"], TrainingJobStatus=summary["TrainingJobStatus"],
                       FinalObjectiveValue=metric.get("Value"), ObjectiveStatus=summary.get("ObjectiveStatus"),
                       TrainingStartTime=start, TrainingEndTime=end,
                       TrainingElapsedTimeSeconds=(end - start).total_seconds() if start and end else None,
                       FailureReason=summary.get("FailureReason"))
            rows.append(row)
        return rows

    def dataframe(self, force_refresh: bool = False) -> pandas.DataFrame | list[dict[str, Any]]:
        """One row per training job (a pandas DataFrame; a list of dicts when pandas is missing)."""
        rows = self.records(force_refresh)
        try:
            import pandas
        except ImportError:
            return rows
        names = [name for name in self.tuning_ranges]
        return pandas.DataFrame(rows, columns=[*names, *self.COLUMNS])

    def export_csv(self, filename: str | os.PathLike[str]) -> str | os.PathLike[str]:
        """Write :meth:`records` to ``filename`` as CSV; returns ``filename``."""
        import csv

        rows = self.records()
        columns = [*self.tuning_ranges, *self.COLUMNS]
        with open(filename, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        return filename
