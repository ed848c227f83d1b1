"""The estimator every other one builds on: :class:`EstimatorBase` (arguments, the ``CreateTrainingJob`` request,
fit, wait, attach, deploy, batch transform) and :class:`Estimator` (any image)."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from framework_sdk import contract, naming, sdk_v1
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.inputs import TrainingInput, channel_config, check_uri, input_data_config, uri_scheme
from framework_sdk.jobs import TrainingJob, check_role, resolve_session
from framework_sdk.metrics import cloudwatch_metrics
from framework_sdk.model import Model
from framework_sdk.session import Session, check_log_type, format_tags
from framework_sdk.transformer import Transformer

if TYPE_CHECKING:
    from typing_extensions import Self

    from framework_sdk._types import Inputs, Request, Response, Tags
    from framework_sdk.metrics import MetricsCollector
    from framework_sdk.predictor import Predictor
    from framework_sdk.serializers import BaseDeserializer, BaseSerializer

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
                 input_mode: str = contract.FILE_MODE, output_path: str | None = None,
                 output_kms_key: str | None = None,
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
        if input_mode not in contract.INPUT_MODES:
            raise ConfigurationError(f"input_mode={input_mode!r} is not valid; use one of "
                                     f"{', '.join(contract.INPUT_MODES)}")
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
        check_role(role, self.sagemaker_session)
        for what, uri in (("output_path", output_path), ("model_uri", model_uri),
                          ("checkpoint_s3_uri", checkpoint_s3_uri)):  # local mode: file:// checkpoints too
            if uri is not None:
                check_uri(uri, what, self.local_mode)
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
            model_input = TrainingInput(self.model_uri, input_mode=contract.FILE_MODE,
                                        content_type=contract.MODEL_CONTENT_TYPE)
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
            "input_mode": algorithm.get("TrainingInputMode", contract.FILE_MODE),
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
