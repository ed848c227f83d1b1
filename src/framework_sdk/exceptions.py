"""The client's exception types: every error says what went wrong and what to do about it.

Pure Python (no boto3 import), so any module may raise or catch these cheaply.

* :class:`SDKError` - base of everything the client raises on purpose.
* :class:`ConfigurationError` - bad arguments or environment, raised before any request is sent.
* :class:`AWSError` - an AWS API call failed; carries the operation, the request, the AWS
  error code and advice. Shaped like botocore's ``ClientError`` (``.response``, ``.operation_name``).
* :class:`UnexpectedStatusException` - a job or endpoint ended in a state other than the one
  waited for; carries ``FailureReason``. (SageMaker Python SDK's name, kept for porting.)
* :class:`WaitTimeoutError` - a bounded wait ran out of time.
* :class:`ResponseContentTypeError` - an endpoint answered with a content type that was not asked for.
* :class:`SerializationError` - a serializer or deserializer could not encode or decode a payload; also a
  :class:`framework_sdk.codecs.CodecError` (the shared codec's error, which cannot derive from ours).
* :class:`MissingDependencyError` - an optional package a feature needs is not installed (also an ``ImportError``).

Also :class:`framework_sdk.packaging.ModelArchiveError` (a hostile ``model.tar.gz``), the local-mode errors
in :mod:`framework_sdk.local.errors` and :class:`framework_sdk.specs.HyperparameterError`. The CLI turns
any :class:`SDKError` into ``Error: <message>`` and exit status 1.
"""
from __future__ import annotations

from .codecs import CodecError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: this module stays cheap to import
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any


class SDKError(Exception):
    """Base class of the errors framework-sdk raises on purpose."""


class ConfigurationError(SDKError, ValueError):
    """Bad input or environment found before any request was sent; the message says how to fix it."""


_ADVICE = {
    "ValidationException": "a request field is invalid; the AWS message above names it - fix the "
                           "argument that produces it",
    "ResourceNotFound": "no such resource in this account and region; check the name and the region",
    "ResourceNotFoundException": "no such resource in this account and region; check the name and the region",
    "ResourceInUse": "the name is taken; pick another name or delete the existing resource first",
    "ResourceLimitExceeded": "an account quota was reached; use fewer or smaller instances, delete "
                             "unused resources, or request a quota increase in Service Quotas",
    "AccessDenied": "the credentials or the role lack a permission; grant it in IAM (the message "
                    "names the action)",
    "AccessDeniedException": "the credentials or the role lack a permission; grant it in IAM (the "
                             "message names the action)",
    "ThrottlingException": "too many requests; wait a moment and retry",
    "NoSuchBucket": "the S3 bucket does not exist; create it or check its name and region",
    "NoSuchKey": "the S3 object does not exist; check the URI",
    "ExpiredToken": "the AWS credentials expired; refresh them (for example `aws sso login`)",
    "ExpiredTokenException": "the AWS credentials expired; refresh them (for example `aws sso login`)",
    "UnrecognizedClientException": "the AWS credentials are not valid; check the access key",
    "InvalidClientTokenId": "the AWS credentials are not valid; check the access key",
    "ModelError": "the model's code failed on this request; read the endpoint's CloudWatch logs "
                  "(/aws/sagemaker/Endpoints/<endpoint name>) and check the payload and its content type",
    "ModelNotReadyException": "the endpoint is not ready yet; wait for InService (session.wait_for_endpoint) "
                              "and retry",
    "404": "no such S3 bucket or object; check the URI and the region",
    "403": "the credentials lack access to this S3 bucket or object; grant it in IAM or the bucket policy",
}


def _advice(code: str, message: str) -> str:
    """What to do about an error; SageMaker reports missing and taken names as ``ValidationException``."""
    lowered = message.lower()
    if code == "ValidationException":
        if "already exist" in lowered:
            return _ADVICE["ResourceInUse"]
        if any(phrase in lowered for phrase in ("not found", "could not find", "does not exist")):
            return _ADVICE["ResourceNotFound"]
    return _ADVICE.get(code, "read the AWS message and fix what it names")


class AWSError(SDKError):
    """An AWS API call failed.

    Attributes: ``operation_name`` (``CreateTrainingJob``), ``code`` (``ValidationException``),
    ``aws_message``, ``request`` (the parameters sent), ``advice`` and ``response`` (the parsed
    error response, as on botocore's ``ClientError``). An ``advice`` given replaces the one the
    code selects (local mode's errors point at local logs, not CloudWatch).
    """

    def __init__(self, operation_name: str, response: Mapping[str, Any] | None,
                 request: Mapping[str, Any] | None = None, advice: str | None = None) -> None:
        error = (response or {}).get("Error", {})
        self.operation_name = operation_name
        self.response = response
        self.request = request or {}
        self.code = error.get("Code") or "Unknown"
        self.aws_message = error.get("Message") or ""
        self.advice = advice or _advice(self.code, self.aws_message)
        subject = request_subject(self.request)
        super().__init__(f"{operation_name}{subject} failed with {self.code}: {self.aws_message} "
                         f"-> {self.advice}")


def request_subject(request: Mapping[str, Any]) -> str:
    """`` for 'name'`` from the first ``*Name``/``Bucket`` field of a request, or ``''``."""
    for key in sorted(request):
        if (key.endswith("Name") or key in ("Bucket", "Key")) and isinstance(request[key], str):
            return f" ({key}={request[key]!r})"
    return ""


class UnexpectedStatusException(SDKError, ValueError):
    """A job or endpoint reached a state other than the one waited for.

    ``actual_status``, ``allowed_statuses`` and ``failure_reason`` (SageMaker's ``FailureReason``).
    """

    def __init__(self, message: str, allowed_statuses: Iterable[str], actual_status: str,
                 failure_reason: str | None = None, name: str | None = None) -> None:
        self.allowed_statuses = tuple(allowed_statuses)
        self.actual_status = actual_status
        self.failure_reason = failure_reason
        self.name = name
        super().__init__(message)


class WaitTimeoutError(SDKError, TimeoutError):
    """A bounded wait ended before the job or endpoint reached a final state."""


class ResponseContentTypeError(SDKError, ValueError):
    """The endpoint answered with a content type that the deserializer did not ask for."""


class SerializationError(SDKError, CodecError):
    """A request or response body that the client's serializers cannot encode or decode.

    Raised in place of the shared codec's :class:`~framework_sdk.codecs.CodecError`, with its message
    and ``content_type``, so that ``except SDKError`` and ``except CodecError`` both catch it.
    """

    def __init__(self, error: CodecError) -> None:
        ValueError.__init__(self, str(error))
        self.content_type = error.content_type


class MissingDependencyError(SDKError, ImportError):
    """An optional package that a feature needs is not installed; the message names what to install."""
