"""Requests and answers as botocore's service models define them: parsing, validation, errors.

Requests are checked with botocore's own ``ParamValidator`` against the operation's input shape;
its findings become the ``ValidationException`` SageMaker sends ("1 validation error detected:
Value null at 'trainingJobName' failed to satisfy constraint: Member must not be null").
"""
from __future__ import annotations

import base64
import datetime
import functools
import json
import re
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator, ValidationErrors

from framework_sdk.exceptions import SDKError

JSON_11 = "application/x-amz-json-1.1"


class ApiError(SDKError):
    """An error answered in the protocol's own format, so clients raise ``ClientError`` with ``code``
    (an :class:`~framework_sdk.exceptions.SDKError` like every error of this library)."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra


@functools.cache
def service_model(name: str) -> ServiceModel:
    """botocore's model of ``name`` (``sagemaker``, ``logs``, ``sagemaker-runtime``), loaded once."""
    return botocore.session.get_session().get_service_model(name)


def operation(service: str, name: str) -> OperationModel:
    """The operation ``name`` of ``service``; ``UnknownOperationException`` when the model has none."""
    model = service_model(service)
    if name not in model.operation_names:
        raise ApiError("UnknownOperationException", f"{service} has no operation {name!r}")
    return model.operation_model(name)


def parse_json_request(body: bytes, model: OperationModel) -> dict[str, Any]:
    """The JSON 1.1 body as boto3 arguments (timestamps as datetimes), validated against the model."""
    try:
        params = json.loads(body or b"{}")
    except ValueError as error:
        raise ApiError("SerializationException", f"the request body is not JSON: {error}") from None
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "the request body must be a JSON object")
    shape = model.input_shape
    params = _decode(shape, params) if shape is not None else params
    if shape is not None:
        validate(params, shape)
    elif params:
        raise ApiError("ValidationException", f"{model.name} takes no input")
    return params


def _decode(shape: Shape, value: Any) -> Any:
    """JSON 1.1 wire values to boto3 values: epoch numbers to datetimes, base64 to bytes."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        return {key: _decode(members[key], item) if key in members else item for key, item in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_decode(shape.member, item) for item in value]  # type: ignore[attr-defined]
    if kind == "map" and isinstance(value, dict):
        return {key: _decode(shape.value, item) for key, item in value.items()}  # type: ignore[attr-defined]
    if kind == "timestamp" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise ApiError("SerializationException", "a blob member is not valid base64") from None
    return value


def validate(params: dict[str, Any], shape: Shape) -> None:
    """Raise SageMaker's ``ValidationException`` for every problem botocore's validator finds."""
    report: ValidationErrors = ParamValidator().validate(params, shape)
    if not report.has_errors():
        return
    findings = [_finding(reason, name, details) for reason, name, details in getattr(report, "_errors", [])]
    if not findings:  # a botocore that keeps its findings elsewhere: its own report
        findings = [report.generate_report()]
    count = len(findings)
    raise ApiError("ValidationException", f"{count} validation error{'s' if count > 1 else ''} detected: "
                   + "; ".join(findings))


def _member_path(name: str, member: str | None = None) -> str:
    parts = [part for part in [*name.split("."), member or ""] if part]
    return ".".join(part[:1].lower() + part[1:] for part in parts)


def _finding(reason: str, name: str, details: dict[str, Any]) -> str:
    if reason == "missing required field":
        return (f"Value null at '{_member_path(name, details['required_name'])}' failed to satisfy "
                f"constraint: Member must not be null")
    if reason == "unknown field":
        return (f"Value at '{_member_path(name, details['unknown_param'])}' failed to satisfy constraint: "
                f"Member is not part of the request; valid members: {', '.join(details['valid_names'])}")
    value = details.get("param")
    if reason == "invalid type":
        types = ", ".join(re.sub(r"<class '(\w+)'>", r"\1", str(t)) for t in details.get("valid_types", ()))
        constraint = f"Member must be of type {types}"
    elif reason == "invalid range":
        constraint = f"Member must have value greater than or equal to {details.get('min_allowed')}"
    elif reason == "invalid length":
        constraint = f"Member must have length greater than or equal to {details.get('min_allowed')}"
    else:
        constraint = reason
    return f"Value '{value}' at '{_member_path(name)}' failed to satisfy constraint: {constraint}"


def wire(value: Any) -> Any:
    """boto3 values to JSON 1.1 wire values: datetimes to epoch seconds, bytes to base64."""
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items() if key != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [wire(item) for item in value]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return value


def json_error_body(error: ApiError) -> bytes:
    """The JSON error document botocore reads: ``__type`` is the code, ``message`` the text."""
    return json.dumps({"__type": error.code, "message": error.message, **error.extra}).encode()
