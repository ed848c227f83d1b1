"""The WSGI app: one port, every service, told apart as botocore sends them under one endpoint URL.

With ``AWS_ENDPOINT_URL`` set, every boto3 client sends to the same host; what tells them apart:
- ``X-Amz-Target: SageMaker.<Operation>``: SageMaker (JSON 1.1);
- ``X-Amz-Target: Logs_20140328.<Operation>``: CloudWatch Logs (JSON 1.1);
- ``POST /endpoints/{name}/invocations``: SageMaker Runtime (REST-JSON; its signing name is ``sagemaker``);
- anything else goes to moto, which reads the SigV4 credential scope's service (``s3``, ``sts``, ``iam``).
"""
from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Iterable
from typing import Any, Callable
from urllib.parse import unquote

from framework_sdk.api import protocol
from framework_sdk.api.protocol import ApiError

log = logging.getLogger("framework_sdk.api")

StartResponse = Callable[..., Any]
INVOCATIONS = re.compile(r"^/endpoints/([^/]+)/invocations$")
HEALTH_PATH = "/_framework_sdk/health"
MAX_JSON_BODY = 5 * 1024 * 1024  # far above any SageMaker control-plane request
MAX_INVOCATION_BODY = 25 * 1024 * 1024  # SageMaker's payload limit for InvokeEndpoint is 25 MB
DRAIN_LIMIT = 64 * 1024 * 1024  # read (and drop) an oversized body up to this, then answer
JSON_SERVICES = {"SageMaker": "sagemaker", "Logs_20140328": "logs"}
RUNTIME_HEADERS = {  # InvokeEndpoint's header members, as WSGI names them
    "CustomAttributes": "HTTP_X_AMZN_SAGEMAKER_CUSTOM_ATTRIBUTES",
    "TargetModel": "HTTP_X_AMZN_SAGEMAKER_TARGET_MODEL",
    "TargetVariant": "HTTP_X_AMZN_SAGEMAKER_TARGET_VARIANT",
    "InferenceId": "HTTP_X_AMZN_SAGEMAKER_INFERENCE_ID",
}
S3_WRITES = {"PUT", "POST", "DELETE"}


def signing_service(environ: dict[str, Any]) -> str | None:
    """The service of a SigV4 request's credential scope (``.../us-east-1/s3/aws4_request``)."""
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else None


class ApiApp:
    """Dispatches each request to SageMaker, Logs, the runtime or moto, and answers errors in kind."""

    def __init__(self, sagemaker: Any, logs: Any, runtime: Any, moto: Any, s3_persistence: Any,
                 credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials  # (access key, secret key): every request must be signed with them
        self.sagemaker = sagemaker
        self.logs = logs
        self.runtime = runtime
        self.moto = moto
        self.s3_persistence = s3_persistence

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        path = environ.get("PATH_INFO", "")
        content_type = environ.get("CONTENT_TYPE", "")
        try:
            if self.credentials is not None and path != HEALTH_PATH:
                refusal = self._check_signature(environ, start_response)
                if refusal is not None:
                    return refusal
            if target or content_type.startswith("application/x-amz-json"):
                return self._json(environ, start_response, target)
            match = INVOCATIONS.match(path)
            if match and signing_service(environ) in (None, "sagemaker"):
                return self._invoke(environ, start_response, unquote(match.group(1)))
            if path == HEALTH_PATH:
                return _answer(start_response, 200, b'{"status": "ok"}', "application/json")
            return self._moto(environ, start_response)
        except ApiError as error:  # before the protocol is known: JSON, which every client here reads
            return _json_error(start_response, error)

    # ------------------------------------------------------------------ SigV4
    def _check_signature(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes] | None:
        """None when the request is signed with this server's key; else the refusal, in the protocol's format."""
        from framework_sdk.api import signing

        assert self.credentials is not None
        body = None
        if signing.header(environ, "x-amz-content-sha256") is None:  # the payload hash must be computed
            body = _read_body(environ, MAX_INVOCATION_BODY)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        try:
            signing.check(environ, body, *self.credentials)
        except signing.SignatureError as error:
            if environ.get("HTTP_X_AMZ_TARGET") or environ.get("CONTENT_TYPE", "").startswith("application/x-amz-json"):
                return _json_error(start_response, ApiError(f"{error.kind}Exception", error.message, 403))
            if INVOCATIONS.match(environ.get("PATH_INFO", "")):
                return _rest_error(start_response, ApiError(f"{error.kind}Exception", error.message, 403))
            return _answer(start_response, 403, signing.xml_error(error, signing_service(environ)),
                           "application/xml")
        return None

    # ------------------------------------------------------------------ JSON 1.1
    def _json(self, environ: dict[str, Any], start_response: StartResponse, target: str) -> Iterable[bytes]:
        prefix, _, operation_name = target.partition(".")
        service = JSON_SERVICES.get(prefix)
        if service is None or not operation_name:
            raise ApiError("UnknownOperationException", f"X-Amz-Target {target!r} names no operation this server "
                           f"answers (SageMaker.<Operation> or Logs_20140328.<Operation>)")
        try:
            body = _read_body(environ, MAX_JSON_BODY)
            model = protocol.operation(service, operation_name)
            params = protocol.parse_json_request(body, model)
            handler = self.sagemaker if service == "sagemaker" else self.logs
            result = handler.call(operation_name, params)
        except ApiError as error:
            return _json_error(start_response, error)
        except Exception as error:  # a bug here must not take the server down: a 500 that says what
            log.exception("%s failed", target)
            return _json_error(start_response, ApiError("InternalFailure", f"{target} failed on the server: "
                                                        f"{type(error).__name__}: {error}", 500))
        return _answer(start_response, 200, _dumps(result), protocol.JSON_11)

    # ------------------------------------------------------------------ runtime
    def _invoke(self, environ: dict[str, Any], start_response: StartResponse, endpoint: str) -> Iterable[bytes]:
        from framework_sdk.exceptions import AWSError

        if environ.get("REQUEST_METHOD") != "POST":
            raise ApiError("ValidationException", "InvokeEndpoint takes POST", 405)
        body = _read_body(environ, MAX_INVOCATION_BODY)
        arguments = {name: environ[key] for name, key in RUNTIME_HEADERS.items() if environ.get(key)}
        try:
            result = self.runtime.invoke_endpoint(EndpointName=endpoint, Body=body,
                                                  ContentType=environ.get("CONTENT_TYPE") or None,
                                                  Accept=environ.get("HTTP_ACCEPT") or None, **arguments)
        except AWSError as error:
            response = error.response or {}
            status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            extra = {k: response[k] for k in ("OriginalStatusCode", "OriginalMessage") if k in response}
            if error.code == "ModelError":
                extra["LogStreamArn"] = (f"arn:aws:logs:local:000000000000:log-group:/aws/sagemaker/"
                                         f"Endpoints/{endpoint}")
            return _rest_error(start_response, ApiError(error.code, error.aws_message, status, **extra))
        headers = [("x-Amzn-Invoked-Production-Variant", result.get("InvokedProductionVariant", "AllTraffic"))]
        if result.get("CustomAttributes") is not None:
            headers.append(("X-Amzn-SageMaker-Custom-Attributes", result["CustomAttributes"]))
        return _answer(start_response, 200, result["Body"].read(), result.get("ContentType") or
                       "application/octet-stream", headers)

    # ------------------------------------------------------------------ moto: S3, STS, IAM
    def _moto(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        service = signing_service(environ)
        if environ.get("REQUEST_METHOD") not in S3_WRITES or service not in (None, "s3"):
            answer: Iterable[bytes] = self.moto(environ, start_response)
            return answer
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.append(status)
            return start_response(status, headers, exc_info)

        chunks = self.moto(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        if captured and captured[0][:1] == "2":
            self.s3_persistence.sync()  # before answering: an acknowledged upload survives a restart
        return [body]


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > limit:
        _drain(stream, min(int(length), DRAIN_LIMIT))  # so the client reads the 413 instead of a broken pipe
        raise ApiError("ValidationException", f"the request body ({length} bytes) is larger than this "
                       f"operation takes ({limit} bytes)", 413)
    body: bytes = stream.read(int(length)) if length.isdigit() else stream.read(limit + 1)
    if len(body) > limit:
        raise ApiError("ValidationException", f"the request body is larger than this operation takes ({limit} "
                       f"bytes)", 413)
    return body


def _drain(stream: Any, size: int) -> None:
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            return
        size -= len(chunk)


def _dumps(value: Any) -> bytes:
    import json

    return json.dumps(value, separators=(",", ":")).encode()


def _answer(start_response: StartResponse, status: int, body: bytes, content_type: str,
            headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(f"{status} {_REASONS.get(status, 'OK')}",
                   [("Content-Type", content_type), ("Content-Length", str(len(body))),
                    ("x-amzn-RequestId", str(uuid.uuid4())), *(headers or [])])
    return [body]


def _json_error(start_response: StartResponse, error: ApiError) -> list[bytes]:
    return _answer(start_response, error.status, protocol.json_error_body(error), protocol.JSON_11)


def _rest_error(start_response: StartResponse, error: ApiError) -> list[bytes]:
    """REST-JSON: botocore reads the code from ``x-amzn-ErrorType`` and the text from ``message``."""
    return _answer(start_response, error.status, protocol.json_error_body(error), "application/json",
                   [("x-amzn-ErrorType", error.code)])


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 424: "Failed Dependency", 500: "Internal Server Error"}
