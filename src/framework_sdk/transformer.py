"""Batch inference: :class:`Transformer` runs a model over S3 data with ``CreateTransformJob``.

Input is ``s3://`` (or ``file://`` in local mode, sent as ``S3DataSource.S3Uri`` the way
SageMaker Python SDK's local mode does); output defaults to
``<session.default_output_path()><job name>``: ``s3://<default bucket>/<job name>`` on AWS,
and locally a ``file://`` folder under the user's data folder unless a bucket is configured.
Arguments follow SageMaker Python SDK v2.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import contract, naming
from .exceptions import ConfigurationError
from .inputs import check_uri, uri_scheme
from .jobs import TransformJob, resolve_session
from .session import Session, format_tags

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._types import Request, Response, Tags

STRATEGIES = contract.BATCH_STRATEGIES
ASSEMBLE_WITH = contract.ASSEMBLE_WITH
SPLIT_TYPES = contract.SPLIT_TYPES
COMPRESSIONS = contract.COMPRESSION_TYPES
DATA_TYPES = contract.S3_DATA_TYPES
JOIN_SOURCES = contract.JOIN_SOURCES


def _check(name: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise ConfigurationError(f"{name}={value!r} is not valid; use one of {', '.join(choices)}")


class Transformer:
    """``Transformer(model_name, instance_count, instance_type, strategy, assemble_with, output_path, accept,
    max_concurrent_transforms, max_payload, env, ...)``."""

    def __init__(self, model_name: str, instance_count: int, instance_type: str, strategy: str | None = None,
                 assemble_with: str | None = None, output_path: str | None = None,
                 output_kms_key: str | None = None, accept: str | None = None,
                 max_concurrent_transforms: int | None = None, max_payload: int | None = None,
                 tags: Tags | None = None, env: Mapping[str, str] | None = None,
                 base_transform_job_name: str | None = None, sagemaker_session: Session | None = None,
                 volume_kms_key: str | None = None) -> None:
        if not model_name:
            raise ConfigurationError("model_name is required: the SageMaker model to run (create it with "
                                     "model.transformer(...) or estimator.transformer(...))")
        if not isinstance(instance_count, int) or instance_count < 1:
            raise ConfigurationError(f"instance_count must be a positive integer, got {instance_count!r}")
        if not instance_type:
            raise ConfigurationError("instance_type is required: e.g. 'ml.m5.xlarge', or 'local'")
        _check("strategy", strategy, STRATEGIES)
        _check("assemble_with", assemble_with, ASSEMBLE_WITH)
        self.sagemaker_session = resolve_session(sagemaker_session, instance_type)
        self.local_mode = bool(self.sagemaker_session.local_mode)
        if output_path is not None:
            check_uri(output_path, "output_path", self.local_mode)
        if max_payload is not None and not 0 <= max_payload <= 100:
            raise ConfigurationError(f"max_payload is in MB, between 0 and 100; got {max_payload!r}")
        self.model_name = model_name
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.strategy = strategy
        self.assemble_with = assemble_with
        self.output_path = output_path
        self.output_kms_key = output_kms_key
        self.accept = accept
        self.max_concurrent_transforms = max_concurrent_transforms
        self.max_payload = max_payload
        self.tags = format_tags(tags)
        self.env = dict(env or {})
        self.base_transform_job_name = base_transform_job_name
        self.volume_kms_key = volume_kms_key
        self.latest_transform_job: TransformJob | None = None
        self._current_job_name: str | None = None

    def _request(self, data: str, data_type: str, content_type: str | None, compression_type: str | None,
                 split_type: str | None, job_name: str, input_filter: str | None, output_filter: str | None,
                 join_source: str | None) -> Request:
        _check("data_type", data_type, DATA_TYPES)
        _check("compression_type", compression_type, COMPRESSIONS)
        _check("split_type", split_type, SPLIT_TYPES)
        _check("join_source", join_source, JOIN_SOURCES)
        check_uri(data, "transform data", self.local_mode)
        if self.local_mode:
            for what, uri in (("transform data", data), ("output_path", self.output_path)):
                if uri_scheme(uri) == "s3":
                    self.sagemaker_session.require_credentials(f"{what} {uri!r}")
        output_path = self.output_path or f"{self.sagemaker_session.default_output_path().rstrip('/')}/{job_name}"
        transform_input: Request = {"DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": data}}}
        for key, value in (("ContentType", content_type), ("CompressionType", compression_type),
                           ("SplitType", split_type)):
            if value is not None:
                transform_input[key] = value
        transform_output: Request = {"S3OutputPath": output_path}
        for key, value in (("Accept", self.accept), ("AssembleWith", self.assemble_with),
                           ("KmsKeyId", self.output_kms_key)):
            if value is not None:
                transform_output[key] = value
        resources: Request = {"InstanceCount": self.instance_count, "InstanceType": self.instance_type}
        if self.volume_kms_key:
            resources["VolumeKmsKeyId"] = self.volume_kms_key
        request: Request = {"TransformJobName": job_name, "ModelName": self.model_name,
                            "TransformInput": transform_input, "TransformOutput": transform_output,
                            "TransformResources": resources}
        for key, option in (("BatchStrategy", self.strategy), ("MaxConcurrentTransforms", self.max_concurrent_transforms),
                            ("MaxPayloadInMB", self.max_payload)):
            if option is not None:
                request[key] = option
        if self.env:
            request["Environment"] = {str(k): str(v) for k, v in self.env.items()}
        processing = {key: value for key, value in (("InputFilter", input_filter), ("OutputFilter", output_filter),
                                                    ("JoinSource", join_source)) if value is not None}
        if processing:
            request["DataProcessing"] = processing
        if self.tags:
            request["Tags"] = self.tags
        return request

    def transform(self, data: str, data_type: str = contract.S3_PREFIX, content_type: str | None = None,
                  compression_type: str | None = None, split_type: str | None = None, job_name: str | None = None,
                  input_filter: str | None = None, output_filter: str | None = None,
                  join_source: str | None = None, wait: bool = True, logs: bool = True) -> None:
        """Start a transform job over ``data`` (an ``s3://`` prefix or manifest); with ``wait``, follow it to the end."""
        if job_name:
            naming.validate(job_name, "job_name")
        else:
            # a model named after its training job gives "<base>-<new timestamp>", not two timestamps
            job_name = naming.name_from_base(self.base_transform_job_name or naming.base_from_name(self.model_name))
        request = self._request(data, data_type, content_type, compression_type, split_type, job_name,
                                input_filter, output_filter, join_source)
        self.sagemaker_session.sagemaker_client.create_transform_job(**request)
        self._current_job_name = job_name
        self.latest_transform_job = TransformJob(self.sagemaker_session, job_name)
        if self.output_path is None:
            self.output_path = request["TransformOutput"]["S3OutputPath"]
        if wait:
            self.latest_transform_job.wait(logs=logs)

    def _ensure_job(self) -> TransformJob:
        if self.latest_transform_job is None:
            raise ConfigurationError("no transform job yet: call transform() first, or Transformer.attach(name)")
        return self.latest_transform_job

    def wait(self, logs: bool = True) -> Response:
        """Wait for the latest transform job to end (streaming its logs by default)."""
        return self._ensure_job().wait(logs=logs)

    def stop_transform_job(self, wait: bool = True) -> None:
        job = self._ensure_job()
        job.stop()
        if wait:
            self.sagemaker_session.wait_for_transform_job(job.name)

    @classmethod
    def attach(cls, transform_job_name: str, sagemaker_session: Session | None = None) -> Self:
        """Rebuild a transformer from an existing transform job (``DescribeTransformJob``)."""
        if sagemaker_session is None:
            sagemaker_session = Session()
        job = sagemaker_session.describe_transform_job(transform_job_name)
        resources, output = job["TransformResources"], job["TransformOutput"]
        transformer = cls(job["ModelName"], resources["InstanceCount"], resources["InstanceType"],
                          strategy=job.get("BatchStrategy"), assemble_with=output.get("AssembleWith"),
                          output_path=output.get("S3OutputPath"), output_kms_key=output.get("KmsKeyId"),
                          accept=output.get("Accept"), max_concurrent_transforms=job.get("MaxConcurrentTransforms"),
                          max_payload=job.get("MaxPayloadInMB"), env=job.get("Environment"),
                          base_transform_job_name=naming.base_from_name(transform_job_name),
                          volume_kms_key=resources.get("VolumeKmsKeyId"), sagemaker_session=sagemaker_session)
        transformer._current_job_name = transform_job_name
        transformer.latest_transform_job = TransformJob(sagemaker_session, transform_job_name)
        return transformer
