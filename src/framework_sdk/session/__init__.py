"""The AWS session: boto3 clients made on first use, S3 transfer, waits and CloudWatch log streaming.

Everything that talks to AWS goes through a :class:`Session`. Estimators, models, predictors
and transformers build botocore-shaped requests and call the session's clients
(``sagemaker_client``, ``sagemaker_runtime_client``, ``s3_client``, ``logs_client``,
``sts_client``, ``ecr_client``); S3-only work (``upload_data``, ``default_bucket`` ...) and waiting
(``wait_for_job``, ``logs_for_job`` ...) are Session methods. ``LocalSession`` (in
:mod:`framework_sdk.local`) subclasses this class, swaps the clients for local ones and sets
``local_mode = True``; the callers do not change.

Clients this session makes, or is given, raise :class:`~framework_sdk.exceptions.AWSError`
(operation, request, AWS error code, advice) instead of botocore's ``ClientError``.

The session's methods delegate the work to the modules of this package: :mod:`.s3` (S3 URIs,
the default bucket, transfers), :mod:`.waits` (polls with a bound, final statuses),
:mod:`.logs` (CloudWatch log streaming) and :mod:`.errors` (boto3 clients raising our errors).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, TextIO

from framework_sdk import specs
from framework_sdk.exceptions import ConfigurationError, UnexpectedStatusException
from framework_sdk.session import logs, s3, waits
from framework_sdk.session.errors import _maybe_translate, translate_errors
from framework_sdk.session.logs import LOG_TYPES, LogReader, check_log_type, rule_status_lines
from framework_sdk.session.s3 import parse_s3_uri, s3_uri
from framework_sdk.session.waits import check_job_status

if TYPE_CHECKING:
    from typing import Literal

    import boto3
    from s3transfer.manager import TransferManager

    from framework_sdk._types import Response, Tags

    ServiceName = Literal["sagemaker", "sagemaker-runtime", "s3", "logs", "sts", "cloudwatch", "ecr"]  # the clients made

__all__ = ["LOG_TYPES", "PROCESSING_LOG_GROUP", "TRAINING_LOG_GROUP", "TRANSFORM_LOG_GROUP", "LogReader", "Session", "check_job_status",
           "check_log_type", "format_tags", "parse_s3_uri", "rule_status_lines", "s3_uri", "translate_errors"]

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
_TRAINING_DONE = ("Completed", "Failed", "Stopped")
_TRANSFORM_DONE = ("Completed", "Failed", "Stopped")
_PROCESSING_DONE = ("Completed", "Failed", "Stopped")
_ENDPOINT_DONE = ("InService", "Failed", "OutOfService")


def _region_fix() -> str:
    return ("set AWS_DEFAULT_REGION (for example `export AWS_DEFAULT_REGION=us-west-2`), add "
            "`region = ...` to ~/.aws/config, or pass Session(boto_session=boto3.Session(region_name=...))")


def format_tags(tags: Tags | None) -> list[dict[str, str]]:
    """``{'k': 'v'}`` or ``[{'Key': 'k', 'Value': 'v'}]`` -> the list form SageMaker takes."""
    if not tags:
        return []
    if isinstance(tags, dict):
        return [{"Key": str(key), "Value": str(value)} for key, value in tags.items()]
    return [dict(tag) for tag in tags]


class Session:
    """Wraps a ``boto3.Session``; every AWS client is made on first use.

    ``Session(boto_session=None, sagemaker_client=None, sagemaker_runtime_client=None,
    s3_client=None, logs_client=None, sts_client=None, default_bucket=None, ecr_client=None)``: pass clients
    to reuse them (or to stub them in tests). The region comes from the usual boto3 chain (or
    the clients given); with none, the constructor raises a :class:`ConfigurationError` naming
    the fix, as does the first client made when no credentials are found.
    """

    local_mode = False

    def __init__(self, boto_session: boto3.Session | None = None, sagemaker_client: Any = None,
                 sagemaker_runtime_client: Any = None, s3_client: Any = None, logs_client: Any = None,
                 sts_client: Any = None, default_bucket: str | None = None, ecr_client: Any = None) -> None:
        self._boto_session = boto_session
        self._clients: dict[str, Any] = {}
        for name, client in (("sagemaker", sagemaker_client), ("sagemaker-runtime", sagemaker_runtime_client),
                             ("s3", s3_client), ("logs", logs_client), ("sts", sts_client), ("ecr", ecr_client)):
            if client is not None:
                self._clients[name] = _maybe_translate(client)
        self._default_bucket_name = default_bucket
        self._default_bucket_checked = False
        self._account: str | None = None
        self._lock = threading.Lock()
        if not self.local_mode:
            self.boto_region_name  # noqa: B018 (no region: the property raises now, not at the first request)

    # ------------------------------------------------------------------ boto3 plumbing

    @property
    def boto_session(self) -> boto3.Session:
        if self._boto_session is None:
            import boto3

            self._boto_session = boto3.Session()
        return self._boto_session

    @property
    def boto_region_name(self) -> str:
        """The AWS region; a :class:`ConfigurationError` naming the fix when none is configured."""
        region = self.boto_session.region_name
        if not region:
            for client in self._clients.values():
                client_region: str | None = getattr(getattr(client, "meta", None), "region_name", None)
                if client_region:
                    return client_region
            if self.local_mode:
                return "us-east-1"
            raise ConfigurationError(f"no AWS region is configured: {_region_fix()}")
        return region

    def _client(self, service: ServiceName) -> Any:
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    region = self.boto_region_name
                    # without credentials botocore would fail every call with NoCredentialsError
                    self.require_credentials(f"the AWS {service} API")
                    client = translate_errors(self.boto_session.client(service, region_name=region))
                    self._clients[service] = client
        return client

    @property
    def sagemaker_client(self) -> Any:
        return self._client("sagemaker")

    @property
    def sagemaker_runtime_client(self) -> Any:
        return self._client("sagemaker-runtime")

    @property
    def s3_client(self) -> Any:
        return self._client("s3")

    @property
    def logs_client(self) -> Any:
        return self._client("logs")

    @property
    def sts_client(self) -> Any:
        return self._client("sts")

    @property
    def ecr_client(self) -> Any:
        """The Amazon ECR client (``framework_sdk.images.push`` creates repositories and gets push tokens)."""
        return self._client("ecr")

    def has_credentials(self) -> bool:
        """True when the boto3 credential chain finds credentials."""
        return self.boto_session.get_credentials() is not None

    def require_credentials(self, reason: str) -> None:
        """Raise :class:`ConfigurationError` naming ``reason`` when there are no AWS credentials."""
        if not self.has_credentials():
            alternative = ", or use file:// paths instead" if self.local_mode else ""
            raise ConfigurationError(
                f"{reason} needs AWS credentials and none were found: run `aws configure`, set "
                f"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE){alternative}")

    def account_id(self) -> str:
        """The caller's AWS account id (``sts:GetCallerIdentity``, cached)."""
        if self._account is None:
            self._account = self.sts_client.get_caller_identity()["Account"]
        return self._account

    def partition(self) -> str:
        region = self.boto_region_name
        if region.startswith("cn-"):
            return "aws-cn"
        if region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    def expand_role(self, role: str) -> str:
        """An IAM role ARN for ``role``: ARNs pass through; ``name``, ``path/name`` or ``role/path/name``
        become ``arn:<partition>:iam::<account>:role/<path/name>``."""
        if not role:
            raise ConfigurationError(
                "role is required on AWS SageMaker: pass role='arn:aws:iam::<account>:role/<name>' (or the "
                "role's name), an IAM role that SageMaker can assume with access to your S3 data")
        if role.startswith("arn:"):
            return role
        path = role[len("role/"):] if role.startswith("role/") else role.lstrip("/")
        return f"arn:{self.partition()}:iam::{self.account_id()}:role/{path}"

    # ---------------------------------------------------------------------------- S3

    def default_bucket(self) -> str:
        """``sagemaker-{region}-{account}``, created when missing (or the bucket given to the constructor)."""
        if self._default_bucket_name and self._default_bucket_checked:
            return self._default_bucket_name
        name = self._default_bucket_name or f"sagemaker-{self.boto_region_name}-{self.account_id()}"
        self._ensure_bucket(name)
        self._default_bucket_name, self._default_bucket_checked = name, True
        return name

    def default_output_path(self) -> str:
        """Where training output goes when the estimator names no ``output_path``: ``s3://<default bucket>/``."""
        return s3_uri(self.default_bucket()) + "/"

    def _ensure_bucket(self, name: str) -> None:
        s3.ensure_bucket(self, name)

    def _transfer_manager(self, max_concurrency: int = 10) -> TransferManager:
        return s3.transfer_manager(self, max_concurrency=max_concurrency)

    def upload_data(self, path: str, bucket: str | None = None, key_prefix: str = "data",
                    callback: Callable[[int], object] | None = None,
                    extra_args: dict[str, Any] | None = None) -> str:
        """Upload a file or a folder to S3; returns the ``s3://`` URI of the file, or of the folder's prefix.

        A folder keeps its files' relative paths under ``key_prefix``. Files go up in parallel,
        large ones as multipart uploads, through boto3's transfer manager; a progress line is
        shown when stderr is a terminal. ``callback(bytes_transferred)`` is called as bytes go up
        and ``extra_args`` (``{"ServerSideEncryption": "aws:kms"}`` ...) goes with every object,
        as in SageMaker Python SDK.
        """
        return s3.upload_data(self, path, bucket=bucket, key_prefix=key_prefix, callback=callback,
                              extra_args=extra_args)

    def upload_if_changed(self, local_path: str, uri: str, sha256: str) -> bool:
        """Upload ``local_path`` to ``uri`` unless an object with the same SHA-256 is already there.

        The digest is stored as object metadata ``sha256``. Returns True when it uploaded.
        """
        return s3.upload_if_changed(self, local_path, uri, sha256)

    def download_data(self, path: str, bucket: str, key_prefix: str = "",
                      extra_args: dict[str, Any] | None = None) -> list[str]:
        """Download every object under ``s3://bucket/key_prefix`` into folder ``path``; returns the local paths."""
        return s3.download_data(self, path, bucket, key_prefix=key_prefix, extra_args=extra_args)

    def read_s3_file(self, bucket: str, key: str) -> bytes:
        """An S3 object's body as ``bytes``."""
        body: bytes = self.s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    # --------------------------------------------------- algorithms and model packages

    def create_algorithm(self, name: str, training_specification: Mapping[str, Any],
                         inference_specification: Mapping[str, Any] | None = None,
                         validation_specification: Mapping[str, Any] | None = None, **options: Any) -> str:
        """Send ``CreateAlgorithm`` (specifications from :mod:`framework_sdk.specs`); returns its ARN."""
        arn: str = specs.create_algorithm(self, name, training_specification, inference_specification,
                                          validation_specification, **options)
        return arn

    def create_model_package(self, name: str | None = None, **options: Any) -> str:
        """Send ``CreateModelPackage`` (see :func:`framework_sdk.specs.create_model_package_request`); returns its ARN."""
        arn: str = specs.create_model_package(self, name, **options)
        return arn

    # --------------------------------------------------------------------- describes

    def describe_training_job(self, job_name: str) -> Response:
        return self.sagemaker_client.describe_training_job(TrainingJobName=job_name)

    def describe_transform_job(self, job_name: str) -> Response:
        return self.sagemaker_client.describe_transform_job(TransformJobName=job_name)

    def describe_processing_job(self, job_name: str) -> Response:
        return self.sagemaker_client.describe_processing_job(ProcessingJobName=job_name)

    def describe_endpoint(self, endpoint_name: str) -> Response:
        return self.sagemaker_client.describe_endpoint(EndpointName=endpoint_name)

    def describe_endpoint_config(self, endpoint_config_name: str) -> Response:
        return self.sagemaker_client.describe_endpoint_config(EndpointConfigName=endpoint_config_name)

    def describe_model(self, model_name: str) -> Response:
        return self.sagemaker_client.describe_model(ModelName=model_name)

    # -------------------------------------------------------------------------- waits

    def _wait(self, describe: Callable[[], Response], status_key: str, done: tuple[str, ...], what: str,
              poll: float, timeout: float | None) -> Response:
        return waits.wait(describe, status_key, done, what, poll, timeout)

    def wait_for_job(self, job: str, poll: float = 5, timeout: float | None = None) -> Response:
        """Wait for training job ``job`` to end; returns its description, raises if it did not complete."""
        description = self._wait(lambda: self.describe_training_job(job), "TrainingJobStatus",
                                 _TRAINING_DONE, f"training job {job!r}", poll, timeout)
        return check_job_status(job, description, "TrainingJobStatus")

    def wait_for_transform_job(self, job: str, poll: float = 5, timeout: float | None = None) -> Response:
        """Wait for transform job ``job`` to end; returns its description, raises if it did not complete."""
        description = self._wait(lambda: self.describe_transform_job(job), "TransformJobStatus",
                                 _TRANSFORM_DONE, f"transform job {job!r}", poll, timeout)
        return check_job_status(job, description, "TransformJobStatus")

    def wait_for_processing_job(self, job: str, poll: float = 5, timeout: float | None = None) -> Response:
        """Wait for processing job ``job`` to end; returns its description, raises if it did not complete."""
        description = self._wait(lambda: self.describe_processing_job(job), "ProcessingJobStatus",
                                 _PROCESSING_DONE, f"processing job {job!r}", poll, timeout)
        return check_job_status(job, description, "ProcessingJobStatus")

    def wait_for_endpoint(self, endpoint: str, poll: float = 30, timeout: float | None = None) -> Response:
        """Wait for ``endpoint`` to leave Creating/Updating; raises unless it is InService."""
        description = self._wait(lambda: self.describe_endpoint(endpoint), "EndpointStatus",
                                 _ENDPOINT_DONE, f"endpoint {endpoint!r}", poll, timeout)
        status = description["EndpointStatus"]
        if status != "InService":
            reason = description.get("FailureReason")
            raise UnexpectedStatusException(
                f"endpoint {endpoint!r} is {status}: {reason or 'no reason given'}; read its CloudWatch logs "
                f"under /aws/sagemaker/Endpoints/{endpoint}", ("InService",), status, reason, endpoint)
        return description

    # --------------------------------------------------------------------------- logs

    def logs_for_job(self, job_name: str, wait: bool = False, poll: float = 10, log_type: str | bool = "All",
                     timeout: float | None = None) -> Response:
        """Print a training job's CloudWatch logs, every instance in time order with a ``[algo-N]`` prefix.

        ``log_type`` says what to print, as in SageMaker Python SDK v2: ``'All'`` (default) the log
        lines and the status changes of the job's Debugger/Profiler rules, ``'Training'`` the log
        lines only, ``'Rules'`` the rules' statuses only, ``'None'`` nothing (``True``/``False``
        mean ``'All'``/``'None'``). With ``wait`` it follows the job until it ends, prints the final
        status (unless ``'None'``) and raises :class:`UnexpectedStatusException` (with
        ``FailureReason``) if the job failed.
        """
        shown = LOG_TYPES[check_log_type(log_type)]
        return self._follow_logs(job_name, TRAINING_LOG_GROUP, self.describe_training_job,
                                 "TrainingJobStatus", _TRAINING_DONE, wait, poll, timeout, shown=shown)

    def logs_for_transform_job(self, job_name: str, wait: bool = False, poll: float = 10,
                               timeout: float | None = None) -> Response:
        """Like :meth:`logs_for_job`, for a batch transform job."""
        return self._follow_logs(job_name, TRANSFORM_LOG_GROUP, self.describe_transform_job,
                                 "TransformJobStatus", _TRANSFORM_DONE, wait, poll, timeout)

    def logs_for_processing_job(self, job_name: str, wait: bool = False, poll: float = 10,
                                timeout: float | None = None) -> Response:
        """Like :meth:`logs_for_job`, for a processing job (log group ``/aws/sagemaker/ProcessingJobs``)."""
        return self._follow_logs(job_name, PROCESSING_LOG_GROUP, self.describe_processing_job,
                                 "ProcessingJobStatus", _PROCESSING_DONE, wait, poll, timeout)

    def _follow_logs(self, job_name: str, group: str, describe: Callable[[str], Response], status_key: str,
                     done: tuple[str, ...], wait: bool, poll: float, timeout: float | None,
                     out: TextIO | None = None, shown: tuple[str, ...] = ("lines", "status")) -> Response:
        return logs.follow_logs(self, job_name, group, describe, status_key, done, wait, poll, timeout, out=out,
                                shown=shown)
