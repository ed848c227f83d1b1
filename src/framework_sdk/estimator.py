"""Estimators: :class:`EstimatorBase`, :class:`Estimator` (any image) and :class:`Framework` (script mode).

Names, arguments and defaults follow SageMaker Python SDK v2. ``fit`` builds one
``CreateTrainingJob`` request and sends it through ``sagemaker_session.sagemaker_client``;
AWS and local mode (``instance_type='local'`` / ``'local_gpu'`` with a ``LocalSession``)
share that one path. Every argument is checked before the first request is sent.

Hooks for framework estimators (``framework_sdk.chainer.Chainer`` is one)::

    class Chainer(Framework):
        _framework_name = "chainer"           # key of framework_sdk.image_uris.FRAMEWORKS
        predictor_cls = ChainerPredictor      # what deploy() returns
        model_cls = ChainerModel              # a FrameworkModel subclass; create_model() builds it

        def _framework_hyperparameters(self): # extra sagemaker_* entries, JSON-encoded with the rest
            return {"sagemaker_mpi_enabled": self.use_mpi, ...}

        def _model_kwargs(self):              # extra constructor arguments for model_cls
            return {"model_server_workers": ...}

        @classmethod
        def _prepare_init_params_from_job_description(cls, job_details, model_channel_name=None):
            params = super()._prepare_init_params_from_job_description(job_details, model_channel_name)
            hps = params["hyperparameters"]   # already JSON-decoded; the five standard keys are gone
            params["use_mpi"] = hps.pop("sagemaker_mpi_enabled", False)
            return params

``Framework`` already restores ``entry_point``, ``source_dir``, ``container_log_level``,
``framework_version`` and ``py_version`` (from the image tag) in ``attach``.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import image_uris, naming, sdk_v1
from .exceptions import ConfigurationError
from .inputs import INPUT_MODES, TrainingInput, channel_config, check_uri, input_data_config, uri_scheme
from .jobs import TrainingJob, resolve_session
from .metrics import cloudwatch_metrics
from .model import FrameworkModel, Model
from .packaging import SOURCEDIR, check_dependencies, local_code_dir, pack_sourcedir, resolve_entry_point
from .session import Session, check_log_type, format_tags, parse_s3_uri, s3_uri
from .transformer import Transformer

if TYPE_CHECKING:
    import tempfile

    from typing_extensions import Self

    from ._types import Inputs, Request, Response, Tags
    from .metrics import MetricsCollector
    from .predictor import Predictor
    from .serializers import BaseDeserializer, BaseSerializer

LOGGER = logging.getLogger(__name__)

_RUNNING = ("InProgress", "Stopping")


_HYPERPARAMETER_LIMITS = (100, 256, 2500)  # entries, key length, value length (SageMaker's limits)


def check_hyperparameters(hyperparameters: dict[str, str]) -> dict[str, str]:
    """Return the request's ``HyperParameters`` unchanged, or raise naming the one SageMaker would refuse."""
    entries, key_length, value_length = _HYPERPARAMETER_LIMITS
    if len(hyperparameters) > entries:
        raise ConfigurationError(
            f"{len(hyperparameters)} hyperparameters; SageMaker takes at most {entries}: pass the rest in a "
            f"configuration file (in source_dir, or an input channel)")
    for key, value in hyperparameters.items():
        if len(key) > key_length:
            raise ConfigurationError(f"hyperparameter name {key[:40]!r}... is {len(key)} characters; SageMaker "
                                     f"takes at most {key_length}: use a shorter name")
        if len(value) > value_length:
            raise ConfigurationError(
                f"hyperparameter {key!r} is {len(value)} characters once encoded; SageMaker takes at most "
                f"{value_length}: pass large values in a file (in source_dir, or an input channel) instead")
    return hyperparameters


def _json_hyperparameter(key: object, value: object) -> str:
    """``value`` as JSON; numpy scalars and arrays become numbers and lists."""
    def plain(item: Any) -> Any:
        if hasattr(item, "tolist"):  # numpy scalars and arrays, without importing numpy
            return item.tolist()
        raise ConfigurationError(f"hyperparameter {key!r} is a {type(item).__name__}, which has no JSON form; "
                                 f"pass numbers, strings, booleans, lists or dicts")

    return json.dumps(value, default=plain)


def _check_range(name: str, value: object, low: int, high: int) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high):
        raise ConfigurationError(f"{name} must be an integer from {low} to {high}, got {value!r}")


class EstimatorBase:
    """What every estimator shares: resources, output, the ``CreateTrainingJob`` request, attach, deploy.

    Subclasses implement :meth:`training_image_uri`, :meth:`hyperparameters` and :meth:`create_model`.
    ``max_retry_attempts``, ``keep_alive_period_in_seconds`` and ``enable_sagemaker_metrics`` become
    ``RetryStrategy``, ``ResourceConfig.KeepAlivePeriodInSeconds`` and
    ``AlgorithmSpecification.EnableSageMakerMetricsTimeSeries``. ``debugger_hook_config=False`` and
    ``disable_profiler`` are accepted so SageMaker Python SDK scripts run unchanged; no Debugger
    hook or profiler is ever configured.
    """

    @sdk_v1.accepts(sdk_v1.ESTIMATOR_RENAMED, sdk_v1.ESTIMATOR_REMOVED)
    def __init__(self, role: str | None = None, instance_count: int | None = None, instance_type: str | None = None,
                 volume_size: int = 30, volume_kms_key: str | None = None, max_run: int = 24 * 60 * 60,
                 input_mode: str = "File", output_path: str | None = None, output_kms_key: str | None = None,
                 base_job_name: str | None = None, sagemaker_session: Session | None = None, tags: Tags | None = None,
                 subnets: Sequence[str] | None = None, security_group_ids: Sequence[str] | None = None,
                 model_uri: str | None = None, model_channel_name: str = "model",
                 metric_definitions: Sequence[Mapping[str, str]] | None = None,
                 encrypt_inter_container_traffic: bool = False, use_spot_instances: bool = False,
                 max_wait: int | None = None, checkpoint_s3_uri: str | None = None,
                 checkpoint_local_path: str | None = None, enable_network_isolation: bool = False,
                 environment: Mapping[str, str] | None = None, max_retry_attempts: int | None = None,
                 keep_alive_period_in_seconds: int | None = None, enable_sagemaker_metrics: bool | None = None,
                 debugger_hook_config: bool | None = None, disable_profiler: bool = False) -> None:
        if not instance_type:
            raise ConfigurationError("instance_type is required: an ML instance type such as 'ml.m5.xlarge', "
                                     "or 'local' to run on this machine")
        if not isinstance(instance_count, int) or isinstance(instance_count, bool) or instance_count < 1:
            raise ConfigurationError(f"instance_count must be a positive integer, got {instance_count!r}")
        if input_mode not in INPUT_MODES:
            raise ConfigurationError(f"input_mode={input_mode!r} is not valid; use one of {', '.join(INPUT_MODES)}")
        if use_spot_instances and (max_wait is None or max_wait < max_run):
            raise ConfigurationError(
                f"use_spot_instances needs max_wait (seconds to wait for spot capacity plus training) of at "
                f"least max_run={max_run}; got max_wait={max_wait!r}")
        if bool(subnets) != bool(security_group_ids):
            raise ConfigurationError("subnets and security_group_ids go together: pass both or neither")
        if debugger_hook_config not in (None, False):
            raise ConfigurationError("SageMaker Debugger is not supported: pass debugger_hook_config=False or "
                                     "leave it out (no debugger hook is configured)")
        _check_range("max_retry_attempts", max_retry_attempts, 1, 30)
        _check_range("keep_alive_period_in_seconds", keep_alive_period_in_seconds, 0, 3600)
        self.sagemaker_session = resolve_session(sagemaker_session, instance_type)
        self.local_mode = bool(self.sagemaker_session.local_mode)
        if not role and not self.local_mode:
            raise ConfigurationError(
                "role is required on AWS SageMaker: pass role='arn:aws:iam::<account>:role/<name>', an IAM "
                "role SageMaker can assume with access to your S3 data (local mode needs none)")
        for what, uri in (("output_path", output_path), ("model_uri", model_uri)):
            if uri is not None:
                check_uri(uri, what, self.local_mode)
        if checkpoint_s3_uri is not None and uri_scheme(checkpoint_s3_uri) != "s3":
            raise ConfigurationError(f"checkpoint_s3_uri {checkpoint_s3_uri!r} must be an s3:// URI")
        self.role = role
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.volume_size = volume_size
        self.volume_kms_key = volume_kms_key
        self.max_run = max_run
        self.input_mode = input_mode
        self.output_path = output_path
        self.output_kms_key = output_kms_key
        self.base_job_name = base_job_name
        self.tags = format_tags(tags)
        self.subnets = subnets
        self.security_group_ids = security_group_ids
        self.model_uri = model_uri
        self.model_channel_name = model_channel_name
        self.metric_definitions = metric_definitions
        self.encrypt_inter_container_traffic = encrypt_inter_container_traffic
        self.use_spot_instances = use_spot_instances
        self.max_wait = max_wait
        self.checkpoint_s3_uri = checkpoint_s3_uri
        self.checkpoint_local_path = checkpoint_local_path
        self.enable_network_isolation = enable_network_isolation
        self.environment = dict(environment or {})
        self.max_retry_attempts = max_retry_attempts
        self.keep_alive_period_in_seconds = keep_alive_period_in_seconds
        self.enable_sagemaker_metrics = enable_sagemaker_metrics
        self.debugger_hook_config = debugger_hook_config
        self.disable_profiler = disable_profiler
        self.latest_training_job: TrainingJob | None = None
        self._current_job_name: str | None = None

    # ---------------------------------------------------------------- subclass hooks

    def training_image_uri(self) -> str:
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, str]:
        """The ``HyperParameters`` of the request: a dict of strings."""
        raise NotImplementedError

    def create_model(self, **kwargs: Any) -> Model:
        raise NotImplementedError

    def _stage_code(self, job_name: str) -> None:
        """Prepare training code before the request (frameworks upload their sources here)."""

    # ------------------------------------------------------------------------ training

    def _base_name(self) -> str:
        return self.base_job_name or naming.base_name_from_image(self.training_image_uri())

    def _check_credentials(self, uris: Iterable[tuple[str, str | None]]) -> None:
        """In local mode, ``s3://`` locations need AWS credentials: say so before anything starts."""
        if not self.local_mode:
            return
        for what, uri in uris:
            if uri_scheme(uri) == "s3":
                self.sagemaker_session.require_credentials(f"{what} {uri!r}")

    def _training_request(self, job_name: str, inputs: Inputs | None) -> Request:
        channels = input_data_config(inputs, self.local_mode)
        if self.model_uri:
            model_input = TrainingInput(self.model_uri, input_mode="File",
                                        content_type="application/x-sagemaker-model")
            channels.append(channel_config(self.model_channel_name, model_input, self.local_mode))
        uris = [("output_path", self.output_path), ("checkpoint_s3_uri", self.checkpoint_s3_uri)] + [
            (f"input for channel {c['ChannelName']!r}", c["DataSource"].get("S3DataSource", {}).get("S3Uri"))
            for c in channels]
        self._check_credentials(uris)
        session = self.sagemaker_session
        check_hyperparameters(self.hyperparameters())  # the user's, before any code is uploaded
        if self.output_path is None:
            self.output_path = session.default_output_path()
        self._stage_code(job_name)
        algorithm: Request = {"TrainingImage": self.training_image_uri(), "TrainingInputMode": self.input_mode}
        if self.metric_definitions:
            algorithm["MetricDefinitions"] = list(self.metric_definitions)
        if self.enable_sagemaker_metrics is not None:
            algorithm["EnableSageMakerMetricsTimeSeries"] = bool(self.enable_sagemaker_metrics)
        request: Request = {
            "TrainingJobName": job_name,
            "AlgorithmSpecification": algorithm,
            "OutputDataConfig": {"S3OutputPath": self.output_path},
            "ResourceConfig": {"InstanceCount": self.instance_count, "InstanceType": self.instance_type,
                               "VolumeSizeInGB": self.volume_size},
            "StoppingCondition": {"MaxRuntimeInSeconds": self.max_run},
        }
        if self.role:
            request["RoleArn"] = self.role if self.local_mode else session.expand_role(self.role)
        if channels:
            request["InputDataConfig"] = channels
        if self.output_kms_key:
            request["OutputDataConfig"]["KmsKeyId"] = self.output_kms_key
        if self.volume_kms_key:
            request["ResourceConfig"]["VolumeKmsKeyId"] = self.volume_kms_key
        if self.keep_alive_period_in_seconds is not None:
            request["ResourceConfig"]["KeepAlivePeriodInSeconds"] = self.keep_alive_period_in_seconds
        if self.max_retry_attempts is not None:
            request["RetryStrategy"] = {"MaximumRetryAttempts": self.max_retry_attempts}
        hyperparameters = self.hyperparameters()
        if hyperparameters:
            request["HyperParameters"] = check_hyperparameters(hyperparameters)
        if self.environment:
            request["Environment"] = {str(k): str(v) for k, v in self.environment.items()}
        if self.tags:
            request["Tags"] = self.tags
        if self.subnets:
            request["VpcConfig"] = {"Subnets": list(self.subnets), "SecurityGroupIds": list(self.security_group_ids or ())}
        if self.use_spot_instances:
            request["EnableManagedSpotTraining"] = True
            request["StoppingCondition"]["MaxWaitTimeInSeconds"] = self.max_wait
        if self.checkpoint_s3_uri:
            request["CheckpointConfig"] = {"S3Uri": self.checkpoint_s3_uri}
            if self.checkpoint_local_path:
                request["CheckpointConfig"]["LocalPath"] = self.checkpoint_local_path
        if self.enable_network_isolation:
            request["EnableNetworkIsolation"] = True
        if self.encrypt_inter_container_traffic:
            request["EnableInterContainerTrafficEncryption"] = True
        return request

    def fit(self, inputs: Inputs | None = None, wait: bool = True, logs: str | bool = "All",
            job_name: str | None = None) -> None:
        """Start a training job on ``inputs`` and, with ``wait``, follow it to the end.

        ``inputs``: an ``s3://`` URI (channel ``training``), a :class:`~framework_sdk.TrainingInput`,
        or a dict of channel name to either; ``file://`` URIs in local mode. ``logs`` says what to print
        while waiting, as ``log_type`` of :meth:`Session.logs_for_job` does (``'All'``, ``'Training'``,
        ``'Rules'``, ``'None'``, True or False). A failed job raises
        :class:`~framework_sdk.exceptions.UnexpectedStatusException` carrying its ``FailureReason``.
        """
        check_log_type(logs)  # before the job starts
        job_name = naming.validate(job_name, "job_name") if job_name else naming.name_from_base(self._base_name())
        request = self._training_request(job_name, inputs)
        self.sagemaker_session.sagemaker_client.create_training_job(**request)
        self._current_job_name = job_name
        self.latest_training_job = TrainingJob(self.sagemaker_session, job_name)
        if wait:
            self.latest_training_job.wait(logs=logs)
        return None

    def _ensure_latest_training_job(self) -> TrainingJob:
        if self.latest_training_job is None:
            raise ConfigurationError("no training job yet: call fit() first, or attach() to an existing job")
        return self.latest_training_job

    def wait(self, logs: str | bool = "All") -> Response:
        """Wait for the latest training job to end (streaming logs by default)."""
        return self._ensure_latest_training_job().wait(logs=logs)

    def logs(self) -> Response:
        """Stream the latest training job's logs until it ends."""
        return self.sagemaker_session.logs_for_job(self._ensure_latest_training_job().name, wait=True)

    def describe(self) -> Response:
        return self._ensure_latest_training_job().describe()

    def stop_training_job(self) -> None:
        self._ensure_latest_training_job().stop()

    @property
    def model_data(self) -> str:
        """The ``model.tar.gz`` URI of the latest training job."""
        job = self._ensure_latest_training_job()
        description = job.describe()
        artifacts: str | None = description.get("ModelArtifacts", {}).get("S3ModelArtifacts")
        if artifacts:
            return artifacts
        status = description.get("TrainingJobStatus")
        if status in _RUNNING:
            raise ConfigurationError(f"training job {job.name!r} is {status}; its model "
                                     f"exists once it completes (estimator.wait())")
        raise ConfigurationError(f"training job {job.name!r} ended {status} without a model: "
                                 f"{description.get('FailureReason', 'no reason given')}")

    @property
    def training_job_analytics(self) -> MetricsCollector:
        """The metric series of the latest training job, as a :class:`~framework_sdk.MetricsCollector`.

        SageMaker v2's name. ``.dataframe()`` gives ``timestamp`` (seconds since the job started),
        ``metric_name`` and ``value`` (a pandas DataFrame, or a list of dicts without pandas);
        ``.series(name)``, ``.last(name)``, ``.export_csv(path)`` and ``.plot(path)`` (a PNG; needs
        matplotlib) go with it. Locally the values come from ``metric_definitions`` applied to
        every log line, live while the job runs; on AWS from CloudWatch.
        """
        latest = self._ensure_latest_training_job()
        name = latest.name
        if self.local_mode:
            job = getattr(self.sagemaker_session.sagemaker_client, "training_jobs", {}).get(name)
            if job is None:
                raise ConfigurationError(f"local training job {name!r} ran in another Python process; its "
                                         "metrics live only in the process that ran it")
            metrics: MetricsCollector = job.metrics
            return metrics
        return cloudwatch_metrics(self.sagemaker_session, latest.describe())

    # -------------------------------------------------------------------------- attach

    @classmethod
    def _prepare_init_params_from_job_description(cls, job_details: Response,
                                                  model_channel_name: str | None = None) -> dict[str, Any]:
        """Constructor arguments that rebuild an estimator from a ``DescribeTrainingJob`` response."""
        resources = job_details["ResourceConfig"]
        stopping = job_details.get("StoppingCondition", {})
        algorithm = job_details["AlgorithmSpecification"]
        params: dict[str, Any] = {
            "role": job_details.get("RoleArn"),
            "instance_count": resources.get("InstanceCount", 1),
            "instance_type": resources.get("InstanceType"),
            "volume_size": resources.get("VolumeSizeInGB", 30),
            "max_run": stopping.get("MaxRuntimeInSeconds", 24 * 60 * 60),
            "input_mode": algorithm.get("TrainingInputMode", "File"),
            "output_path": job_details["OutputDataConfig"]["S3OutputPath"],
            "base_job_name": naming.base_from_name(job_details["TrainingJobName"]),
            "hyperparameters": dict(job_details.get("HyperParameters") or {}),
            "image_uri": algorithm.get("TrainingImage"),
            "environment": dict(job_details.get("Environment") or {}),
        }
        optional = {
            "output_kms_key": job_details["OutputDataConfig"].get("KmsKeyId"),
            "volume_kms_key": resources.get("VolumeKmsKeyId"),
            "metric_definitions": algorithm.get("MetricDefinitions"),
            "subnets": job_details.get("VpcConfig", {}).get("Subnets"),
            "security_group_ids": job_details.get("VpcConfig", {}).get("SecurityGroupIds"),
            "checkpoint_s3_uri": job_details.get("CheckpointConfig", {}).get("S3Uri"),
            "checkpoint_local_path": job_details.get("CheckpointConfig", {}).get("LocalPath"),
            "keep_alive_period_in_seconds": resources.get("KeepAlivePeriodInSeconds"),
            "max_retry_attempts": job_details.get("RetryStrategy", {}).get("MaximumRetryAttempts"),
        }
        params.update({key: value for key, value in optional.items() if value})
        if job_details.get("EnableManagedSpotTraining"):
            params["use_spot_instances"] = True
            params["max_wait"] = stopping.get("MaxWaitTimeInSeconds")
        if job_details.get("EnableNetworkIsolation"):
            params["enable_network_isolation"] = True
        if "EnableSageMakerMetricsTimeSeries" in algorithm:
            params["enable_sagemaker_metrics"] = algorithm["EnableSageMakerMetricsTimeSeries"]
        if job_details.get("EnableInterContainerTrafficEncryption"):
            params["encrypt_inter_container_traffic"] = True
        if model_channel_name:
            for channel in job_details.get("InputDataConfig") or ():
                if channel["ChannelName"] == model_channel_name:
                    source = channel["DataSource"]
                    params["model_uri"] = (source.get("S3DataSource", {}).get("S3Uri")
                                           or source.get("FileDataSource", {}).get("FileUri"))
                    params["model_channel_name"] = model_channel_name
        return params

    @classmethod
    def attach(cls, training_job_name: str, sagemaker_session: Session | None = None,
               model_channel_name: str = "model") -> Self:
        """Rebuild an estimator from an existing training job; if it is still running, stream its logs to the end."""
        if sagemaker_session is None:
            sagemaker_session = Session()
        description = sagemaker_session.describe_training_job(training_job_name)
        params = cls._prepare_init_params_from_job_description(description, model_channel_name)
        params["sagemaker_session"] = sagemaker_session
        estimator = cls(**params)
        estimator._current_job_name = training_job_name
        estimator.latest_training_job = TrainingJob(sagemaker_session, training_job_name)
        if description.get("TrainingJobStatus") in _RUNNING:
            estimator.latest_training_job.wait(logs="All")
        return estimator

    # ------------------------------------------------------------------ deploy, batch

    def _completed_job_name(self) -> str:
        job = self._ensure_latest_training_job()
        status = job.describe().get("TrainingJobStatus")
        if status != "Completed":
            raise ConfigurationError(f"training job {job.name!r} is {status}, not Completed; "
                                     f"only a completed job has a model to deploy (estimator.wait())")
        return job.name

    @sdk_v1.accepts(removed=sdk_v1.DEPLOY_REMOVED)
    def deploy(self, initial_instance_count: int | None = None, instance_type: str | None = None,
               serializer: BaseSerializer | None = None, deserializer: BaseDeserializer | None = None,
               accelerator_type: str | None = None, endpoint_name: str | None = None, wait: bool = True,
               model_name: str | None = None, kms_key: str | None = None, tags: Tags | None = None,
               **kwargs: Any) -> Predictor:
        """Create a model from the latest training job, deploy it to an endpoint and return its predictor.

        Model and endpoint get a fresh name from the base job name (so deploying twice makes two
        endpoints, as in SageMaker v2) unless ``model_name``/``endpoint_name`` are given; extra
        keyword arguments go to :meth:`create_model`.
        """
        for what, name in (("model_name", model_name), ("endpoint_name", endpoint_name)):
            if name is not None:
                naming.validate(name, what)
        self._completed_job_name()
        default_name = naming.name_from_base(self._base_name())
        model = self.create_model(**kwargs)
        model.name = model_name or default_name
        return model.deploy(initial_instance_count=initial_instance_count, instance_type=instance_type,
                            serializer=serializer, deserializer=deserializer, accelerator_type=accelerator_type,
                            endpoint_name=endpoint_name or default_name, tags=tags or self.tags,
                            kms_key=kms_key, wait=wait)

    def delete_endpoint(self, *args: Any, **kwargs: Any) -> None:
        """Removed in SageMaker Python SDK v2: raises, saying to use the predictor's ``delete_endpoint()``."""
        raise ConfigurationError(sdk_v1.DELETE_ENDPOINT_REMOVED)

    def transformer(self, instance_count: int, instance_type: str, strategy: str | None = None,
                    assemble_with: str | None = None, output_path: str | None = None,
                    output_kms_key: str | None = None, accept: str | None = None,
                    env: Mapping[str, str] | None = None, max_concurrent_transforms: int | None = None,
                    max_payload: int | None = None, tags: Tags | None = None, role: str | None = None,
                    volume_kms_key: str | None = None, model_name: str | None = None,
                    **kwargs: Any) -> Transformer:
        """A :class:`~framework_sdk.Transformer` for batch inference with the latest job's model."""
        if model_name is not None:
            naming.validate(model_name, "model_name")
        job_name = self._completed_job_name()
        model = self.create_model(role=role, **kwargs) if role else self.create_model(**kwargs)
        model.name = model_name or job_name
        tags = tags or self.tags
        model._create_sagemaker_model(instance_type, tags=tags)
        return Transformer(model.name, instance_count, instance_type, strategy=strategy,
                           assemble_with=assemble_with, output_path=output_path, output_kms_key=output_kms_key,
                           accept=accept, max_concurrent_transforms=max_concurrent_transforms,
                           max_payload=max_payload, env=env, tags=tags, base_transform_job_name=self.base_job_name,
                           volume_kms_key=volume_kms_key, sagemaker_session=self.sagemaker_session)


class Estimator(EstimatorBase):
    """Train any image that honours the SageMaker container contract.

    ``Estimator(image_uri, role, instance_count, instance_type, ..., hyperparameters=None)``;
    hyperparameter values are sent as strings (``str(value)``).
    """

    def __init__(self, image_uri: str, role: str | None = None, instance_count: int | None = None,
                 instance_type: str | None = None, hyperparameters: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        if not image_uri:
            raise ConfigurationError("image_uri is required: the training image to run")
        self.image_uri = image_uri
        self._hyperparameters = dict(hyperparameters or {})
        super().__init__(role=role, instance_count=instance_count, instance_type=instance_type, **kwargs)

    def training_image_uri(self) -> str:
        return self.image_uri

    def set_hyperparameters(self, **kwargs: Any) -> None:
        self._hyperparameters.update(kwargs)

    def hyperparameters(self) -> dict[str, str]:
        return {str(key): str(value) for key, value in self._hyperparameters.items()}

    @sdk_v1.accepts(removed=sdk_v1.CREATE_MODEL_REMOVED)
    def create_model(self, role: str | None = None, image_uri: str | None = None,
                     predictor_cls: type[Predictor] | None = None, env: Mapping[str, str] | None = None,
                     name: str | None = None, **kwargs: Any) -> Model:
        """A :class:`~framework_sdk.Model` of the latest job's artifacts served by ``image_uri`` (default: the training image)."""
        return Model(image_uri or self.image_uri, self.model_data, role or self.role,
                     predictor_cls=predictor_cls, env=env, name=name,
                     sagemaker_session=self.sagemaker_session, **kwargs)


_FRAMEWORK_KEYS = ("sagemaker_program", "sagemaker_submit_directory", "sagemaker_container_log_level",
                   "sagemaker_job_name", "sagemaker_region")


class Framework(EstimatorBase):
    """Script mode: run ``entry_point`` from ``source_dir`` in a framework image.

    The entry point is checked at construction (inside ``source_dir`` when given). At ``fit``,
    ``source_dir`` (with its ``requirements.txt``) and ``dependencies`` are packed into a
    reproducible ``sourcedir.tar.gz`` and uploaded to
    ``<code_location or the output bucket>/<base_job_name>/source/<sha256[:16]>/sourcedir.tar.gz``
    unless that object is already there; in local mode ``source_dir`` is used in place
    (``file://``). Hyperparameters gain ``sagemaker_program``, ``sagemaker_submit_directory``,
    ``sagemaker_container_log_level``, ``sagemaker_job_name``, ``sagemaker_region`` and
    :meth:`_framework_hyperparameters`, and every value is JSON-encoded.
    """

    _framework_name: str | None = None
    predictor_cls: type[Predictor] | None = None  # None: framework_sdk.Predictor
    model_cls: type[FrameworkModel] | None = None  # None: framework_sdk.FrameworkModel

    @sdk_v1.accepts(sdk_v1.FRAMEWORK_RENAMED)
    def __init__(self, entry_point: str, source_dir: str | None = None,
                 hyperparameters: Mapping[str, Any] | None = None, container_log_level: int = logging.INFO,
                 code_location: str | None = None, image_uri: str | None = None,
                 dependencies: Sequence[str] | None = None, framework_version: str | None = None,
                 py_version: str | None = None, role: str | None = None, instance_count: int | None = None,
                 instance_type: str | None = None, **kwargs: Any) -> None:
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.dependencies = list(dependencies or [])
        self._program = resolve_entry_point(entry_point, source_dir)
        check_dependencies(self.dependencies)
        self.container_log_level = container_log_level
        self.code_location = code_location
        self.image_uri = image_uri
        self.framework_version = framework_version
        self.py_version = py_version
        if image_uri is None:
            if self._framework_name is None:
                raise ConfigurationError(f"{type(self).__name__} needs image_uri (it names no framework)")
            if framework_version is None:
                raise ConfigurationError(
                    f"framework_version is required when image_uri is not given; supported "
                    f"{self._framework_name} versions: {', '.join(image_uris.supported_versions(self._framework_name))}")
            self.py_version = py_version or image_uris.DEFAULT_PY_VERSION
            image_uris.validate(self._framework_name, framework_version, self.py_version)
        self._hyperparameters = dict(hyperparameters or {})
        self._code_uri: str | None = None
        self._job_name: str | None = None
        self._staging: tempfile.TemporaryDirectory[str] | None = None
        super().__init__(role=role, instance_count=instance_count, instance_type=instance_type, **kwargs)
        if code_location is not None and uri_scheme(code_location) != "s3":
            raise ConfigurationError(f"code_location {code_location!r} must be an s3:// URI")

    # hooks -----------------------------------------------------------------------

    def _framework_hyperparameters(self) -> dict[str, Any]:
        """Extra ``sagemaker_*`` hyperparameters of a framework (raw values; JSON-encoded later)."""
        return {}

    def _model_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for :attr:`model_cls` in :meth:`create_model`."""
        return {}

    # -----------------------------------------------------------------------------

    def training_image_uri(self) -> str:
        if self.image_uri:
            return self.image_uri
        session = self.sagemaker_session
        framework, version, py_version = self._framework_name, self.framework_version, self.py_version
        assert framework and version and py_version  # __init__ checked them: there is no image_uri
        if self.local_mode:
            return image_uris.retrieve(framework, version, py_version, self.instance_type)
        return image_uris.retrieve(framework, version, py_version, self.instance_type,
                                   region=session.boto_region_name, account=session.account_id())

    def _base_name(self) -> str:
        if self.base_job_name:
            return self.base_job_name
        if self.image_uri is None:
            assert self._framework_name  # __init__ checked it: there is no image_uri
            return naming.base_name_from_image(image_uris.repository(self._framework_name))
        return naming.base_name_from_image(self.image_uri)

    def set_hyperparameters(self, **kwargs: Any) -> None:
        self._hyperparameters.update(kwargs)

    def _stage_code(self, job_name: str) -> None:
        if uri_scheme(self.source_dir) == "s3":
            self._code_uri = self.source_dir
        elif self.local_mode:
            path, self._staging = local_code_dir(self.entry_point, self.source_dir, self.dependencies)
            self._code_uri = "file://" + path
        else:
            self._code_uri = self._upload_sourcedir()
        self._job_name = job_name

    def _upload_sourcedir(self) -> str:
        session = self.sagemaker_session
        if self.code_location:
            bucket, prefix = parse_s3_uri(self.code_location)
        elif uri_scheme(self.output_path) == "s3":
            bucket, prefix = parse_s3_uri(self.output_path)[0], ""
        else:
            bucket, prefix = session.default_bucket(), ""
        with pack_sourcedir(self.entry_point, self.source_dir, self.dependencies) as archive:
            uri = s3_uri(bucket, prefix, self._base_name(), "source", archive.sha256[:16], SOURCEDIR)
            session.upload_if_changed(archive.path, uri, archive.sha256)
        return uri

    def hyperparameters(self) -> dict[str, str]:
        """User and framework hyperparameters, every value JSON-encoded (``2`` -> ``'2'``, ``'a'`` -> ``'"a"'``)."""
        values = dict(self._hyperparameters)
        if self._code_uri is not None:
            values.update({
                "sagemaker_program": self._program,
                "sagemaker_submit_directory": self._code_uri,
                "sagemaker_container_log_level": self.container_log_level,
                "sagemaker_job_name": self._job_name,
                "sagemaker_region": self.sagemaker_session.boto_region_name,
            })
        values.update(self._framework_hyperparameters())
        return {str(key): _json_hyperparameter(key, value) for key, value in values.items()}

    @classmethod
    def _prepare_init_params_from_job_description(cls, job_details: Response,
                                                  model_channel_name: str | None = None) -> dict[str, Any]:
        params = super()._prepare_init_params_from_job_description(job_details, model_channel_name)
        hyperparameters = {}
        for key, value in params["hyperparameters"].items():
            try:
                hyperparameters[key] = json.loads(value)
            except (TypeError, ValueError):
                hyperparameters[key] = value
        params["entry_point"] = hyperparameters.pop("sagemaker_program", None)
        params["source_dir"] = hyperparameters.pop("sagemaker_submit_directory", None)
        params["container_log_level"] = hyperparameters.pop("sagemaker_container_log_level", logging.INFO)
        hyperparameters.pop("sagemaker_job_name", None)
        hyperparameters.pop("sagemaker_region", None)
        params["hyperparameters"] = hyperparameters
        if not params["entry_point"]:
            raise ConfigurationError(f"training job {job_details['TrainingJobName']!r} has no sagemaker_program "
                                     f"hyperparameter, so it is not a {cls.__name__} job; attach with Estimator")
        if uri_scheme(params["source_dir"]) == "file":
            params["source_dir"] = params["source_dir"][len("file://"):]
        image = params.pop("image_uri")
        parsed = cls._parse_image(image)
        if parsed:
            params["framework_version"], params["py_version"] = parsed
        else:
            params["image_uri"] = image
        return params

    @classmethod
    def _parse_image(cls, image: str | None) -> tuple[str, str] | None:
        """``(framework_version, py_version)`` when ``image`` is this framework's own image, else None."""
        if not cls._framework_name or not image or ":" not in image:
            return None
        repository, tag = image.rsplit("/", 1)[-1].split(":", 1)
        if repository != image_uris.repository(cls._framework_name):
            return None
        parts = tag.split("-")
        if len(parts) != 3:
            return None
        version, _processor, py_version = parts
        try:
            image_uris.validate(cls._framework_name, version, py_version)
        except ValueError:
            return None
        return version, py_version

    @sdk_v1.accepts(removed=sdk_v1.CREATE_MODEL_REMOVED)
    def create_model(self, role: str | None = None, image_uri: str | None = None, entry_point: str | None = None,
                     source_dir: str | None = None, dependencies: Sequence[str] | None = None,
                     predictor_cls: type[Predictor] | None = None, env: Mapping[str, str] | None = None,
                     name: str | None = None, **kwargs: Any) -> FrameworkModel:
        """A :attr:`model_cls` that serves the latest job's model with this estimator's code (or the given code)."""
        model_cls = self.model_cls or FrameworkModel
        if not model_cls._framework_name:  # a plain FrameworkModel serves with the training image
            image_uri = image_uri or self.training_image_uri()
        arguments: dict[str, Any] = dict(
            model_data=self.model_data, image_uri=image_uri or self.image_uri, role=role or self.role,
            entry_point=entry_point or self.entry_point,
            source_dir=self.source_dir if entry_point is None and source_dir is None else source_dir,
            dependencies=self.dependencies if dependencies is None else dependencies,
            predictor_cls=predictor_cls or self.predictor_cls, env=env, name=name,
            container_log_level=self.container_log_level, code_location=self.code_location,
            sagemaker_session=self.sagemaker_session)
        if model_cls._framework_name:
            arguments.update(framework_version=self.framework_version, py_version=self.py_version)
        arguments.update(self._model_kwargs())
        arguments.update(kwargs)
        return model_cls(**arguments)
