"""The AWS session: boto3 clients made on first use, S3 transfer, waits and CloudWatch log streaming.

Everything that talks to AWS goes through a :class:`Session`. Estimators, models, predictors
and transformers build botocore-shaped requests and call the session's clients
(``sagemaker_client``, ``sagemaker_runtime_client``, ``s3_client``, ``logs_client``,
``sts_client``); S3-only work (``upload_data``, ``default_bucket`` ...) and waiting
(``wait_for_job``, ``logs_for_job`` ...) are Session methods. ``LocalSession`` (in
:mod:`framework_sdk.local`) subclasses this class, swaps the clients for local ones and sets
``local_mode = True``; the callers do not change.

Clients this session makes, or is given, raise :class:`~framework_sdk.exceptions.AWSError`
(operation, request, AWS error code, advice) instead of botocore's ``ClientError``.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, TextIO

from . import specs
from .exceptions import AWSError, ConfigurationError, UnexpectedStatusException, WaitTimeoutError, request_subject

if TYPE_CHECKING:
    from typing import Literal

    import boto3
    from s3transfer.manager import TransferManager

    from ._types import Response, Tags

    ServiceName = Literal["sagemaker", "sagemaker-runtime", "s3", "logs", "sts", "cloudwatch"]  # the clients made

LOGGER = logging.getLogger(__name__)

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
_TRAINING_DONE = ("Completed", "Failed", "Stopped")
_TRANSFORM_DONE = ("Completed", "Failed", "Stopped")
_PROCESSING_DONE = ("Completed", "Failed", "Stopped")
_ENDPOINT_DONE = ("InService", "Failed", "OutOfService")
_MB = 1024 * 1024
# What logs_for_job(log_type=...) prints, as in SageMaker Python SDK v2: the hosts' log lines, the
# status changes of Debugger/Profiler rules (DescribeTrainingJob's *RuleEvaluationStatuses), the final status.
LOG_TYPES: dict[str, tuple[str, ...]] = {"All": ("lines", "rules", "status"), "Training": ("lines", "status"),
                                         "Rules": ("rules", "status"), "None": ()}


def _region_fix() -> str:
    return ("set AWS_DEFAULT_REGION (for example `export AWS_DEFAULT_REGION=us-west-2`), add "
            "`region = ...` to ~/.aws/config, or pass Session(boto_session=boto3.Session(region_name=...))")


def translate_errors(client: Any) -> Any:
    """Make ``client`` (a boto3 client) raise our exceptions; returns ``client``.

    A failed call raises :class:`AWSError`; a request that does not fit botocore's service
    model raises :class:`ConfigurationError` (instead of ``ParamValidationError``) before it is sent.
    """
    events = client.meta.events
    if getattr(client, "_framework_sdk_errors", False):
        return client
    service = client.meta.service_model.service_id.hyphenize()
    validate = service != "s3" and client.meta.config.parameter_validation  # S3 requests: built by s3transfer

    def remember(params: dict[str, Any], context: dict[str, Any], model: Any, **_: Any) -> None:
        context["framework_sdk_request"] = dict(params)
        if validate:
            from botocore.exceptions import ParamValidationError
            from botocore.validate import validate_parameters

            try:
                validate_parameters(params, model.input_shape)
            except ParamValidationError as error:
                raise ConfigurationError(
                    f"{model.name}{request_subject(params)} would be refused: {error.kwargs.get('report', error)}; "
                    f"fix the argument that produces that field") from None

    def raise_ours(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code >= 300 and parsed.get("Error"):
            raise AWSError(model.name, parsed, context.get("framework_sdk_request"))

    events.register_last("before-parameter-build", remember)  # after botocore fills idempotency tokens
    events.register(f"after-call.{service}", raise_ours)
    client._framework_sdk_errors = True
    return client


class _Progress:
    """A one-line byte counter on a terminal (stderr); silent when stderr is not a terminal."""

    def __init__(self, total: int, label: str, enabled: bool | None = None) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._last = 0.0

    def __call__(self, nbytes: int) -> None:
        with self._lock:
            self.done += nbytes
            now = time.monotonic()
            if self.enabled and (now - self._last > 0.2 or self.done >= self.total):
                self._last = now
                percent = 100.0 * self.done / self.total if self.total else 100.0
                sys.stderr.write(f"\r{self.label}: {self.done / _MB:8.1f} / {self.total / _MB:.1f} MB "
                                 f"{percent:5.1f}%")
                sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _backoff(poll: float, start: float = 0.5) -> Iterator[float]:
    """Poll intervals: ``start``, doubling, capped at ``poll`` seconds."""
    delay = min(start, poll)
    while True:
        yield delay
        delay = min(delay * 2, poll)


def check_log_type(log_type: str | bool | None) -> str:
    """``log_type`` as a key of :data:`LOG_TYPES`; ``True`` means ``'All'``, ``False`` (as in SageMaker v2) and
    ``None`` mean ``'None'``."""
    if log_type is True:
        return "All"
    if log_type is False or log_type is None:
        return "None"
    if log_type not in LOG_TYPES:
        raise ConfigurationError(f"log_type={log_type!r} is not one of {', '.join(map(repr, LOG_TYPES))} "
                                 f"(or True/False): 'All' prints the log lines and the rules' statuses, "
                                 f"'Training' the log lines, 'Rules' the rules' statuses, 'None' nothing")
    return log_type


def rule_status_lines(description: Response, printed: dict[str, str]) -> list[str]:
    """``[rule] <name>: <status>`` for each Debugger/Profiler rule whose status changed since ``printed``.

    ``printed`` (rule name -> status) is updated, so each status is printed once.
    """
    lines = []
    for key in ("DebugRuleEvaluationStatuses", "ProfilerRuleEvaluationStatuses"):
        for rule in description.get(key) or ():
            name, status = rule.get("RuleConfigurationName"), rule.get("RuleEvaluationStatus")
            if printed.get(name) != status:
                printed[name] = status
                lines.append(f"[rule] {name}: {status}")
    return lines


def parse_s3_uri(uri: str | None) -> tuple[str, str]:
    """``s3://bucket/key/prefix`` -> ``('bucket', 'key/prefix')``."""
    if not isinstance(uri, str) or not uri.startswith("s3://") or len(uri) <= 5:
        raise ConfigurationError(f"{uri!r} is not an S3 URI; expected s3://bucket/key")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def format_tags(tags: Tags | None) -> list[dict[str, str]]:
    """``{'k': 'v'}`` or ``[{'Key': 'k', 'Value': 'v'}]`` -> the list form SageMaker takes."""
    if not tags:
        return []
    if isinstance(tags, dict):
        return [{"Key": str(key), "Value": str(value)} for key, value in tags.items()]
    return [dict(tag) for tag in tags]


def s3_uri(bucket: str, *parts: str | None) -> str:
    """``s3://bucket/part/part`` with no doubled or trailing slashes."""
    key = "/".join(part.strip("/") for part in parts if part and part.strip("/"))
    return f"s3://{bucket}/{key}" if key else f"s3://{bucket}"


class Session:
    """Wraps a ``boto3.Session``; every AWS client is made on first use.

    ``Session(boto_session=None, sagemaker_client=None, sagemaker_runtime_client=None,
    s3_client=None, logs_client=None, sts_client=None, default_bucket=None)``: pass clients
    to reuse them (or to stub them in tests). The region comes from the usual boto3 chain (or
    the clients given); with none, the constructor raises a :class:`ConfigurationError` naming
    the fix, as does the first client made when no credentials are found.
    """

    local_mode = False

    def __init__(self, boto_session: boto3.Session | None = None, sagemaker_client: Any = None,
                 sagemaker_runtime_client: Any = None, s3_client: Any = None, logs_client: Any = None,
                 sts_client: Any = None, default_bucket: str | None = None) -> None:
        self._boto_session = boto_session
        self._clients: dict[str, Any] = {}
        for name, client in (("sagemaker", sagemaker_client), ("sagemaker-runtime", sagemaker_runtime_client),
                             ("s3", s3_client), ("logs", logs_client), ("sts", sts_client)):
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
        s3 = self.s3_client
        try:
            s3.head_bucket(Bucket=name)
            return
        except AWSError as error:
            if error.code not in ("404", "NoSuchBucket", "NotFound"):
                if error.code in ("403", "AccessDenied"):
                    raise ConfigurationError(
                        f"S3 bucket {name!r} exists but this account cannot use it (it belongs to someone "
                        f"else, or the credentials lack s3:ListBucket); pass Session(default_bucket=...) "
                        f"with a bucket you own") from error
                raise
        region = self.boto_region_name
        request: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**request)
            LOGGER.info("created S3 bucket %s", name)
        except AWSError as error:
            if error.code not in ("BucketAlreadyOwnedByYou", "OperationAborted"):
                raise

    def _transfer_manager(self, max_concurrency: int = 10) -> TransferManager:
        from boto3.s3.transfer import TransferConfig, create_transfer_manager

        config = TransferConfig(multipart_threshold=8 * _MB, multipart_chunksize=8 * _MB,
                                max_concurrency=max_concurrency, use_threads=True)
        return create_transfer_manager(self.s3_client, config)

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
        from s3transfer.subscribers import BaseSubscriber

        if not os.path.exists(path):
            raise ConfigurationError(f"cannot upload {path!r}: no such file or folder")
        bucket = bucket or self.default_bucket()
        key_prefix = (key_prefix or "").strip("/")
        if os.path.isdir(path):
            files: list[tuple[str, str]] = []
            for folder, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    local = os.path.join(folder, name)
                    relative = os.path.relpath(local, path).replace(os.sep, "/")
                    files.append((local, f"{key_prefix}/{relative}" if key_prefix else relative))
            result = s3_uri(bucket, key_prefix)
        else:
            name = os.path.basename(path)
            files = [(path, f"{key_prefix}/{name}" if key_prefix else name)]
            result = s3_uri(bucket, files[0][1])
        progress = _Progress(sum(os.path.getsize(local) for local, _ in files), f"upload {result}")

        class _Count(BaseSubscriber):
            def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
                progress(bytes_transferred)
                if callback is not None:
                    callback(bytes_transferred)

        with self._transfer_manager() as manager:
            futures = [manager.upload(local, bucket, key, extra_args=extra_args, subscribers=[_Count()])
                       for local, key in files]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
            finally:
                progress.close()
        return result

    def upload_if_changed(self, local_path: str, uri: str, sha256: str) -> bool:
        """Upload ``local_path`` to ``uri`` unless an object with the same SHA-256 is already there.

        The digest is stored as object metadata ``sha256``. Returns True when it uploaded.
        """
        bucket, key = parse_s3_uri(uri)
        try:
            head = self.s3_client.head_object(Bucket=bucket, Key=key)
            if head.get("Metadata", {}).get("sha256") == sha256:
                LOGGER.info("%s is unchanged; not uploading it again", uri)
                return False
        except AWSError as error:
            if error.code not in ("404", "NoSuchKey", "NotFound"):
                raise
        with self._transfer_manager() as manager:
            manager.upload(local_path, bucket, key, extra_args={"Metadata": {"sha256": sha256}}).result()
        return True

    def download_data(self, path: str, bucket: str, key_prefix: str = "",
                      extra_args: dict[str, Any] | None = None) -> list[str]:
        """Download every object under ``s3://bucket/key_prefix`` into folder ``path``; returns the local paths."""
        root = os.path.abspath(path)
        keys: list[str] = []
        paginator = self.s3_client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=key_prefix):
            keys.extend(item["Key"] for item in page.get("Contents", ()) if not item["Key"].endswith("/"))
        if not keys:
            raise ConfigurationError(f"nothing to download: no objects under {s3_uri(bucket, key_prefix)}")
        targets = []
        for key in keys:
            if key == key_prefix:  # the prefix names one object: keep its file name
                relative = key.rsplit("/", 1)[-1]
            else:
                relative = key[len(key_prefix):].lstrip("/")
            target = os.path.abspath(os.path.join(root, relative))
            if os.path.commonpath([root, target]) != root:
                raise ConfigurationError(f"refusing to download {key!r}: it would be written outside {root}")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            targets.append((key, target))
        with self._transfer_manager() as manager:
            futures = [manager.download(bucket, key, target, extra_args=extra_args) for key, target in targets]
            for future in futures:
                future.result()
        return [target for _, target in targets]

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
        out = out or sys.stdout
        reader = LogReader(self.logs_client, group, job_name) if "lines" in shown else None
        rules: dict[str, str] = {}  # rule name -> the status last printed
        deadline = None if timeout is None else time.monotonic() + timeout
        delays = _backoff(poll)
        description = describe(job_name)
        while True:
            finished = description[status_key] in done
            lines = reader.read_new() if reader else []  # after the job ends: one last full read
            if "rules" in shown:
                lines += rule_status_lines(description, rules)
            for line in lines:
                out.write(line + "\n")
            out.flush()
            if finished or not wait:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(f"job {job_name!r} is still {description[status_key]} after {timeout} s")
            threading.Event().wait(next(delays))
            description = describe(job_name)
        if finished:
            if "status" in shown:
                out.write(f"{job_name}: {description[status_key]}"
                          f"{' - ' + description['FailureReason'] if description.get('FailureReason') else ''}\n")
                out.flush()
            if wait:
                check_job_status(job_name, description, status_key)
        return description


class LogReader:
    """Reads new events of every CloudWatch stream ``<job_name>/...`` of a log group, merged by time."""

    def __init__(self, logs_client: Any, group: str, job_name: str) -> None:
        self.client = logs_client
        self.group = group
        self.job_name = job_name
        self.tokens: dict[str, str] = {}  # stream -> nextForwardToken

    def streams(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            request: dict[str, Any] = {"logGroupName": self.group, "logStreamNamePrefix": self.job_name + "/"}
            if token:
                request["nextToken"] = token
            try:
                page = self.client.describe_log_streams(**request)
            except AWSError as error:
                if error.code == "ResourceNotFoundException":  # the group appears with the first job
                    return []
                raise
            names.extend(stream["logStreamName"] for stream in page.get("logStreams", ()))
            token = page.get("nextToken")
            if not token:
                return sorted(names)

    @staticmethod
    def host(stream: str) -> str:
        """``job/algo-1-1700000000`` -> ``algo-1``."""
        tail = stream.split("/", 1)[-1]
        head, _, last = tail.rpartition("-")
        return head if head and last.isdigit() and len(last) >= 9 else tail

    def read_new(self) -> list[str]:
        """Lines not read before, ``[host] message``, ordered by timestamp across streams."""
        events: list[tuple[int, int, str, str]] = []
        for index, stream in enumerate(self.streams()):
            host = self.host(stream)
            while True:
                request: dict[str, Any] = {"logGroupName": self.group, "logStreamName": stream,
                                           "startFromHead": True}
                if stream in self.tokens:
                    request["nextToken"] = self.tokens[stream]
                page = self.client.get_log_events(**request)
                batch = page.get("events", ())
                for event in batch:
                    events.append((event.get("timestamp", 0), index, host, event.get("message", "")))
                token = page.get("nextForwardToken")
                moved = token and token != self.tokens.get(stream)
                if token:
                    self.tokens[stream] = token
                if not batch or not moved:
                    break
        events.sort(key=lambda event: (event[0], event[1]))
        return [f"[{host}] {message.rstrip()}" for _, _, host, message in events]


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


def _maybe_translate(client: Any) -> Any:
    """Translate a boto3 client's errors; leave other objects with the client surface (local clients) alone."""
    meta = getattr(client, "meta", None)
    if meta is not None and hasattr(meta, "events") and hasattr(meta, "service_model"):
        return translate_errors(client)
    return client
