"""SigV4 checking for a server reachable beyond loopback: botocore's signer is the reference.

Each request's ``Authorization`` header names its access key, date, region, service and signed
headers; the server rebuilds the canonical request from what it received (the raw path, the query
string as sent, exactly the signed headers, the payload hash) and computes the signature with
botocore's ``SigV4Auth`` (``S3SigV4Auth`` for S3) and the secret it was given.
"""
from __future__ import annotations

import datetime
import hmac
import re
from typing import Any
from urllib.parse import quote

from framework_sdk.api.protocol import ApiError

AUTHORIZATION = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
                           r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;\-]+),\s*"
                           r"Signature=(?P<signature>[0-9a-f]{64})$")
MAX_SKEW = datetime.timedelta(minutes=15)  # what AWS allows between the request's date and now


class SignatureError(ApiError):
    """A request refused for its signature: 403, with ``kind`` saying which check failed."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(kind, message, 403)
        self.kind = kind


def header(environ: dict[str, Any], name: str) -> str | None:
    key = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}.get(name)
    value = environ.get(key or "HTTP_" + name.upper().replace("-", "_"))
    return None if value is None else str(value)


def raw_path(environ: dict[str, Any]) -> str:
    """The path as the client sent it (percent-encoding kept), which is what it signed."""
    scope = environ.get("asgi.scope") or {}
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).decode("latin-1").split("?", 1)[0]
    return quote(environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace"), safe="/~")


def check(environ: dict[str, Any], body: bytes | None, access_key: str, secret_key: str) -> str:
    """Raise :class:`SignatureError` unless the request is signed with ``access_key``/``secret_key``;
    returns the signing service. ``body`` is needed only when no ``X-Amz-Content-SHA256`` header is sent."""
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = header(environ, "authorization")
    if not authorization:
        raise SignatureError("MissingAuthenticationToken", "this server requires requests signed with SigV4 "
                             "with the access key it was given; configure credentials in your client")
    match = AUTHORIZATION.match(authorization.strip())
    if match is None:
        raise SignatureError("IncompleteSignature", "the Authorization header is not an AWS4-HMAC-SHA256 signature")
    if not hmac.compare_digest(match["key"], access_key):
        raise SignatureError("UnrecognizedClient", "the access key in the request is not the one this server "
                             "was given")
    stamp = header(environ, "x-amz-date") or ""
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise SignatureError("IncompleteSignature", "the request has no valid X-Amz-Date") from None
    if abs(datetime.datetime.now(datetime.timezone.utc) - when) > MAX_SKEW or stamp[:8] != match["date"]:
        raise SignatureError("InvalidSignature", "the request's date is more than 15 minutes from this "
                             "machine's clock (or does not match its credential scope)")
    names = match["headers"].split(";")
    headers = {}
    for name in names:
        value = header(environ, name)
        if value is None:
            raise SignatureError("InvalidSignature", f"the signed header {name!r} is missing from the request")
        headers[name] = value
    query = environ.get("QUERY_STRING", "")
    url = f"http://{header(environ, 'host') or 'localhost'}{raw_path(environ)}{'?' + query if query else ''}"
    request = AWSRequest(method=environ.get("REQUEST_METHOD", "GET"), url=url, headers=headers, data=body or b"")
    request.context["timestamp"] = stamp
    signer_class = S3SigV4Auth if match["service"] == "s3" else SigV4Auth
    signer = signer_class(Credentials(access_key, secret_key), match["service"], match["region"])
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureError("InvalidSignature", "the request signature we calculated does not match the "
                             "signature you provided; check your secret key")
    return match["service"]


S3_CODES = {"MissingAuthenticationToken": "AccessDenied", "IncompleteSignature": "AccessDenied",
            "UnrecognizedClient": "InvalidAccessKeyId", "InvalidSignature": "SignatureDoesNotMatch"}


def xml_error(error: SignatureError, service: str | None) -> bytes:
    """The refusal as S3 (``<Error>``) or the query protocol (STS, IAM: ``<ErrorResponse>``) write it."""
    from xml.sax.saxutils import escape

    if service in (None, "s3"):
        return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{S3_CODES[error.kind]}</Code>"
                f"<Message>{escape(error.message)}</Message></Error>").encode()
    return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{error.kind}Exception</Code>"
            f"<Message>{escape(error.message)}</Message></Error></ErrorResponse>").encode()
