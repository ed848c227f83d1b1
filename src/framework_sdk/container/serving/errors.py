"""The model server's errors: those that carry an HTTP status, the mapping from any handler error to a
response, and how a fatal start-up error is logged.
"""
import logging
from http import HTTPStatus

from framework_sdk import codecs
from framework_sdk.container.errors import StartupError as StartupError  # re-exported: raised by the server's parts
from framework_sdk.container.errors import ToolkitError

log = logging.getLogger("framework_sdk.serving")

INPUT, PREDICT, OUTPUT = "input", "predict", "output"


class HTTPError(ToolkitError):
    """Raise from any handler to answer with exactly this status and message.

    ``raise HTTPError(404, "no such customer: 17")``. Any exception with an integer
    ``status_code`` (or ``status``) between 400 and 599 is honoured the same way, so
    errors of SageMaker's inference toolkit and of web frameworks work unchanged.
    """

    def __init__(self, status, message=None, detail=None):
        self.status_code = int(status)
        self.message = message if message is not None else _phrase(self.status_code)
        self.detail = detail  # JSON-able details, e.g. the field errors of a 422
        super().__init__(self.message)


class RequestTimeout(BaseException):
    """A request ran past ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` (a BaseException so ``except Exception`` cannot swallow it)."""


def fatal(message):
    """Log ``message`` so that the last line alone says what went wrong (details, if any, above it)."""
    first, _, details = message.partition("\n")
    if details:
        log.error("%s", message)
        first += " (details above)"
    log.error("%s", first)


def declared_status(error):
    """The HTTP status an exception carries (``status_code`` or ``status``), or ``None``."""
    for name in ("status_code", "status"):
        value = getattr(error, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
            return value
    return None


def classify(error, phase):
    """``(status, message, expected)`` for an error raised while handling a request.

    ``phase`` is where it happened: decoding the request (:data:`INPUT`), predicting, or
    encoding the response (:data:`OUTPUT`). ``expected`` is False for user-code bugs (500),
    whose traceback belongs in the log, never in the response.
    """
    status = declared_status(error)
    if status is not None:
        message = getattr(error, "message", None) or getattr(error, "detail", None) or str(error)
        return status, str(message) or _phrase(status), True
    if isinstance(error, codecs.CodecError) and phase in (INPUT, OUTPUT):
        if phase == INPUT:
            return (415 if isinstance(error, codecs.UnsupportedContentType) else 400), str(error), True
        return 406, f"cannot answer in the requested type: {error}", True
    return 500, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__, False


def error_body(status, message, detail=None):
    """The JSON body of every error response: ``{"code": 415, "type": "Unsupported Media Type", "message": ...}``.

    ``detail`` (the field errors of a 422) is added under ``"detail"``, where FastAPI puts it.
    """
    body = {"code": status, "type": _phrase(status), "message": message}
    if detail is not None:
        body["detail"] = detail
    return codecs.json_encode(body)


def _phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
