"""The ASGI app each worker runs: four routes, hand-routed, nothing else on the request path.

``GET /ping`` (200: a worker only serves once its model is loaded), ``POST /invocations``,
``GET /execution-parameters``; anything else 404 (or the typed mode's own pages).
Bodies over ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` get 413 from the declared Content-Length
before any byte is read, or as soon as the streamed count passes the limit.
"""
import logging

from framework_sdk import codecs, contract
from framework_sdk.container.serving.errors import HTTPError, RequestTimeout, error_body
from framework_sdk.container.serving.handlers import Context

log = logging.getLogger("framework_sdk.serving")

_JSON = contract.JSON.encode("latin1")
_CLOSE = (b"connection", b"close")


class ServingApp:
    """Routes requests to a service (handler chain, typed JSON or predictor class) inside a :class:`Deadline`.

    ``service`` has ``invoke(body, content_type, accept, context) -> (payload, content_type)``,
    ``wants_context``, and optionally ``asgi``: an app answering every path not listed above
    (the typed mode's OpenAPI schema and ``/docs``, ``/redoc`` pages).
    """

    def __init__(self, service, config, deadline, worker_id=0, on_expired=None):
        self.service = service
        self.deadline = deadline
        self.worker_id = worker_id
        self.model_dir = config.model_dir
        self.limit = config.max_payload_bytes
        self.limit_mb = config.max_payload_mb
        self.on_expired = on_expired
        self.delegate = getattr(service, "asgi", None)
        self.parameters = codecs.json_encode(config.execution_parameters())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        path = scope["path"]
        method = scope["method"]
        if path == contract.INVOCATIONS:
            if method != "POST":
                return await _error(send, 405, f"use POST {contract.INVOCATIONS}", ((b"allow", b"POST"),))
            return await self._invoke(scope, receive, send)
        if path == contract.PING:
            if method not in ("GET", "HEAD"):
                return await _error(send, 405, f"use GET {contract.PING}", ((b"allow", b"GET"),))
            return await _respond(send, 200, b"", _JSON)
        if path == contract.EXECUTION_PARAMETERS:
            if method not in ("GET", "HEAD"):
                return await _error(send, 405, f"use GET {contract.EXECUTION_PARAMETERS}", ((b"allow", b"GET"),))
            return await _respond(send, 200, self.parameters, _JSON)
        if self.delegate is not None:
            return await self.delegate(scope, receive, send)
        return await _error(send, 404, f"no route {method} {path}; the routes are GET {contract.PING}, "
                                       f"POST {contract.INVOCATIONS} and GET {contract.EXECUTION_PARAMETERS}")

    async def _invoke(self, scope, receive, send):
        content_type = accept = length = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin1")
            elif name == b"accept":
                accept = value.decode("latin1")
            elif name == b"content-length":
                length = value
        if length is not None and _too_long(length, self.limit):
            return await self._too_large(send)
        body = await _read_body(receive, self.limit)
        if body is None:
            return await self._too_large(send)
        context = Context(self.worker_id, self.model_dir, scope["headers"]) if self.service.wants_context else None
        try:
            with self.deadline:
                payload, kind = self.service.invoke(body, content_type or "", accept, context)
        except HTTPError as error:
            return await _error(send, error.status_code, error.message, detail=error.detail)
        except RequestTimeout as error:
            return await self._timed_out(send, error)
        except Exception as error:  # a bug outside user code: still an answer, never a dropped request
            log.exception("internal error while answering %s", contract.INVOCATIONS)
            return await _error(send, 500, f"{type(error).__name__}: {error}")
        if self.deadline.expired:  # user code swallowed the timeout: answer, then retire anyway
            return await self._timed_out(send, RequestTimeout("timed out"))
        return await _respond(send, 200, payload, kind.encode("latin1"))

    def _too_large_message(self):
        return (f"the body is larger than {contract.MAX_PAYLOAD_ENV}={self.limit_mb:g} MB; "
                "send smaller requests (split the batch) or raise the limit")

    async def _too_large(self, send):
        return await _error(send, 413, self._too_large_message())

    async def _timed_out(self, send, error):
        log.error("worker %d: %s; answering 504 and replacing this worker", self.worker_id, error)
        await _error(send, 504, str(error), (_CLOSE,))
        self._retire()

    def _retire(self):
        if self.on_expired is not None:
            self.on_expired()


def _too_long(value, limit):
    try:
        return int(value) > limit
    except ValueError:
        return False  # the HTTP parser has already rejected it; the streamed count still applies


async def _read_body(receive, limit):
    """The whole body as bytes, or ``None`` as soon as it passes ``limit`` (the rest is never stored)."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= limit else None
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send, status, body, content_type, extra=()):
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send, status, message, extra=(), detail=None):
    await _respond(send, status, error_body(status, message, detail), _JSON, extra)
