"""Train from a SageMaker algorithm (:class:`AlgorithmEstimator`) and deploy a model package (:class:`ModelPackage`).

``AlgorithmEstimator(algorithm_arn, role, instance_count, instance_type, hyperparameters=...)``
reads the algorithm's ``TrainingSpecification`` once (``DescribeAlgorithm``) and checks
everything against it before a job starts: instance type, distributed training,
hyperparameters (names, types, ranges, required ones; defaults filled in) and channels.
Its job names the algorithm (``AlgorithmSpecification.AlgorithmName``) instead of an image.

``ModelPackage(role, model_package_arn=...)`` deploys a model package; ``ModelPackage(role,
algorithm_arn=..., model_data=...)`` first registers the model an algorithm trained as a
package (``CreateModelPackage``, waited for), which is what ``AlgorithmEstimator.deploy()``
does. Both run on AWS SageMaker only: a local run of the same image is
``Estimator(image_uri=<the algorithm's TrainingImage>, ..., instance_type="local")``.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import naming, sdk_v1
from .estimator import EstimatorBase
from .exceptions import ConfigurationError, UnexpectedStatusException, WaitTimeoutError
from .inputs import input_data_config
from .jobs import is_local
from .model import Model
from .specs import create_model_package, validate_channels, validate_hyperparameters

if TYPE_CHECKING:
    from ._types import Inputs, Request, Response
    from .predictor import Predictor

_LOCAL_ADVICE = ("algorithms and model packages run on AWS SageMaker; to try the same image on this machine "
                 "use Estimator(image_uri=<its TrainingImage>, instance_type='local') or Model(image_uri=..., "
                 "model_data='file://...')")


def _short_name(arn_or_name: str) -> str:
    """``arn:aws:sagemaker:...:algorithm/decision-trees`` -> ``decision-trees``."""
    return arn_or_name.rsplit("/", 1)[-1]


class AlgorithmEstimator(EstimatorBase):
    """Train with a SageMaker algorithm resource (yours, or one from AWS Marketplace)."""

    @sdk_v1.accepts(sdk_v1.ESTIMATOR_RENAMED)  # this body reads instance_type and instance_count itself
    def __init__(self, algorithm_arn: str, role: str | None = None, instance_count: int | None = None,
                 instance_type: str | None = None, hyperparameters: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        if not algorithm_arn:
            raise ConfigurationError("algorithm_arn is required: the ARN or name of a SageMaker algorithm")
        if is_local(instance_type):
            raise ConfigurationError(_LOCAL_ADVICE)
        super().__init__(role=role, instance_count=instance_count, instance_type=instance_type, **kwargs)
        self.algorithm_arn = algorithm_arn
        self.algorithm = self.sagemaker_session.sagemaker_client.describe_algorithm(AlgorithmName=algorithm_arn)
        spec = self.training_specification
        supported = spec.get("SupportedTrainingInstanceTypes", ())
        if supported and instance_type not in supported:
            raise ConfigurationError(f"algorithm {_short_name(algorithm_arn)!r} does not train on {instance_type!r}; "
                                     f"use one of {', '.join(supported)}")
        if self.instance_count > 1 and not spec.get("SupportsDistributedTraining"):
            raise ConfigurationError(f"algorithm {_short_name(algorithm_arn)!r} does not support distributed "
                                     f"training; use instance_count=1")
        self._hyperparameters: dict[str, Any] = {}
        self.set_hyperparameters(**(hyperparameters or {}))

    @property
    def training_specification(self) -> Response:
        """The algorithm's ``TrainingSpecification`` (from ``DescribeAlgorithm``)."""
        specification: Response = self.algorithm["TrainingSpecification"]
        return specification

    def training_image_uri(self) -> str:
        image: str = self.training_specification["TrainingImage"]
        return image

    def _base_name(self) -> str:
        return self.base_job_name or naming.sanitize(_short_name(self.algorithm_arn))

    def set_hyperparameters(self, **kwargs: Any) -> None:
        """Add hyperparameters; unknown names, wrong types and out-of-range values are refused at once."""
        merged = {**self._hyperparameters, **kwargs}
        validate_hyperparameters(self.training_specification, merged, check_required=False)
        self._hyperparameters = merged

    def hyperparameters(self) -> dict[str, str]:
        """The job's hyperparameters as strings, the algorithm's defaults filled in; required ones checked."""
        values: dict[str, str] = validate_hyperparameters(self.training_specification, self._hyperparameters)
        return values

    def _training_request(self, job_name: str, inputs: Inputs | None) -> Request:
        channels = input_data_config(inputs, self.local_mode)
        validate_channels(self.training_specification, [c["ChannelName"] for c in channels], self.input_mode)
        self.hyperparameters()  # a missing required hyperparameter is an error before anything is staged
        request = super()._training_request(job_name, inputs)
        algorithm = request["AlgorithmSpecification"]
        del algorithm["TrainingImage"]
        algorithm.pop("MetricDefinitions", None)  # an algorithm brings its own
        algorithm["AlgorithmName"] = self.algorithm_arn
        return request

    @sdk_v1.accepts(removed=sdk_v1.CREATE_MODEL_REMOVED)
    def create_model(self, role: str | None = None, predictor_cls: type[Predictor] | None = None,
                     env: Mapping[str, str] | None = None, name: str | None = None, **kwargs: Any) -> ModelPackage:
        """A :class:`ModelPackage` of the latest job's model, served by the algorithm's inference spec."""
        return ModelPackage(role or self.role, model_data=self.model_data, algorithm_arn=self.algorithm_arn,
                            predictor_cls=predictor_cls, env=env, name=name,
                            sagemaker_session=self.sagemaker_session, **kwargs)

    @classmethod
    def _prepare_init_params_from_job_description(cls, job_details: Response,
                                                  model_channel_name: str | None = None) -> dict[str, Any]:
        params = super()._prepare_init_params_from_job_description(job_details, model_channel_name)
        params.pop("image_uri", None)
        params.pop("metric_definitions", None)
        params["algorithm_arn"] = job_details["AlgorithmSpecification"]["AlgorithmName"]
        return params


class ModelPackage(Model):
    """A model package to deploy: ``ModelPackage(role, model_package_arn=...)``, or ``(role, model_data=...,
    algorithm_arn=...)`` for a model an algorithm trained (registered as a package on first use).

    Network isolation is on by default, as AWS Marketplace packages require.
    """

    def __init__(self, role: str | None = None, model_data: str | None = None, algorithm_arn: str | None = None,
                 model_package_arn: str | None = None, enable_network_isolation: bool = True,
                 package_wait_timeout: float = 1800, **kwargs: Any) -> None:
        if model_package_arn is None and algorithm_arn is None:
            raise ConfigurationError("give model_package_arn (a model package to deploy), or algorithm_arn and "
                                     "the model_data it trained")
        if algorithm_arn is not None and model_package_arn is None and model_data is None:
            raise ConfigurationError(f"model_data (the s3:// model.tar.gz {_short_name(algorithm_arn)!r} trained) "
                                     "is needed with algorithm_arn")
        super().__init__(None, model_data, role, enable_network_isolation=enable_network_isolation, **kwargs)
        self.algorithm_arn = algorithm_arn
        self.model_package_arn = model_package_arn
        self.package_wait_timeout = package_wait_timeout

    def _init_session(self, instance_type: str | None) -> bool:
        if is_local(instance_type) or getattr(self.sagemaker_session, "local_mode", False):
            raise ConfigurationError(_LOCAL_ADVICE)
        return super()._init_session(instance_type)

    def _default_name(self) -> str:
        return naming.name_from_base(_short_name(self.model_package_arn or self.algorithm_arn or "model-package"))

    def serving_image_uri(self, instance_type: str | None = None) -> str:
        raise ConfigurationError("a model package names its own images; see DescribeModelPackage")

    def prepare_container_def(self, instance_type: str | None = None) -> Request:
        container: Request = {"ModelPackageName": self._ensure_model_package()}
        if self.env:
            container["Environment"] = {str(k): str(v) for k, v in self.env.items()}
        return container

    def _ensure_model_package(self) -> str:
        """The package ARN; for an algorithm's model, ``CreateModelPackage`` first and wait until it is Completed."""
        if self.model_package_arn is None:
            assert self.algorithm_arn  # __init__ checked: a package ARN or an algorithm's
            name = naming.name_from_base(_short_name(self.algorithm_arn))
            arn = create_model_package(self._session, name, algorithm_name=self.algorithm_arn,
                                       model_data=self.model_data)
            self._wait_for_package(name)
            self.model_package_arn = arn
        return self.model_package_arn

    def _wait_for_package(self, name: str, first_delay: float = 0.5, max_delay: float = 15.0) -> Response:
        client = self._session.sagemaker_client
        deadline = time.monotonic() + self.package_wait_timeout
        delay = first_delay
        while True:
            description: Response = client.describe_model_package(ModelPackageName=name)
            status = description["ModelPackageStatus"]
            if status == "Completed":
                return description
            if status in ("Failed", "Deleting"):
                details = description.get("ModelPackageStatusDetails", {})
                reasons = [item.get("FailureReason") for item in details.get("ValidationStatuses", ())
                           if item.get("FailureReason")]
                raise UnexpectedStatusException(
                    f"model package {name!r} ended {status}: {'; '.join(reasons) or 'no reason given'}",
                    ["Completed"], status, failure_reason="; ".join(reasons) or None, name=name)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(f"model package {name!r} is still {status} after {self.package_wait_timeout} s; "
                                       f"pass a larger package_wait_timeout or check it in the SageMaker console")
            threading.Event().wait(min(delay, remaining))
            delay = min(delay * 2, max_delay)
