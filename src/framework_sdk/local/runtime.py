"""``invoke_endpoint`` against local endpoints, with boto3's argument and response shapes.

Requests go over kept-alive HTTP connections (urllib3 pools, one per server), spread
round-robin over an endpoint's instances. An endpoint this session did not start (another
``LocalSession``, another process) is found by name in the machine's endpoint registry. A 4xx/5xx answer raises :class:`~framework_sdk.exceptions.AWSError`
with the code ``ModelError``, as a Session's SageMaker runtime client does.
"""
import dataclasses
import io
import itertools
import threading

from framework_sdk.exceptions import AWSError
from framework_sdk.local import registry

HEADERS = {
    "CustomAttributes": "X-Amzn-SageMaker-Custom-Attributes",
    "TargetModel": "X-Amzn-SageMaker-Target-Model",
    "TargetVariant": "X-Amzn-SageMaker-Target-Variant",
    "InferenceId": "X-Amzn-SageMaker-Inference-Id",
}


@dataclasses.dataclass(frozen=True)
class RegisteredEndpoint:
    """A running local endpoint another session or process started (:mod:`framework_sdk.local.registry`)."""

    name: str
    urls: tuple
    status: str = "InService"
    variant: str = "AllTraffic"


def client_error(code, message, operation, status=400, extra=None, request=None, advice=None):
    """The error a boto3 client of a :class:`~framework_sdk.session.Session` raises (``AWSError``)."""
    response = {"Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status}, **(extra or {})}
    return AWSError(operation, response, request, advice)


def log_advice(name, here):
    """What to do about a local endpoint's ``ModelError``: read its local log (there is no CloudWatch here)."""
    if here:
        where = f"session.logs_for_endpoint({name!r}) prints it"
    else:
        where = ("it runs in another Python process of this machine, which holds its log "
                 "(`framework-sdk serve` prints it live)")
    return (f"the model's code failed on this request, and the log of local endpoint {name!r} says why: "
            f"{where}; check the payload and its content type")


class LocalRuntimeClient:
    """The ``sagemaker-runtime`` client of a :class:`~framework_sdk.local.LocalSession`."""

    def __init__(self, endpoints, timeout=60.0):
        self._endpoints = endpoints  # name -> Endpoint (clients.py)
        self._pools = {}
        self._cycles = {}
        self._lock = threading.Lock()
        self._found = {}  # name -> RegisteredEndpoint: endpoints this session did not start
        self.timeout = timeout

    def _pool(self, url):
        pool = self._pools.get(url)
        if pool is None:
            import urllib3

            with self._lock:
                pool = self._pools.get(url) or urllib3.connectionpool.connection_from_url(
                    url, maxsize=16, block=False, retries=False, timeout=self.timeout)
                self._pools[url] = pool
        return pool

    def _next_url(self, endpoint):
        urls = endpoint.urls
        with self._lock:
            cycle = self._cycles.get(endpoint.name)
            if cycle is None or cycle[0] != urls:
                cycle = self._cycles[endpoint.name] = (urls, itertools.cycle(urls))
            return next(cycle[1])

    def invoke_endpoint(self, EndpointName, Body, ContentType=None, Accept=None, **kwargs):
        """POST ``Body`` to the endpoint's ``/invocations``; returns ``{"Body", "ContentType", ...}``."""
        import urllib3
        from botocore.response import StreamingBody

        endpoint = self._endpoints.get(EndpointName) or self._elsewhere(EndpointName)
        if endpoint is None or endpoint.status != "InService":
            state = "does not exist" if endpoint is None else f"is {endpoint.status}"
            raise client_error("ValidationException",
                               f"Endpoint {EndpointName} of this local session {state}, and no other local "
                               f"endpoint of that name runs on this machine.", "InvokeEndpoint")
        headers = {"Content-Type": ContentType or "application/octet-stream"}
        if hasattr(Body, "chunks"):  # a ChunkedBody: send its buffers in turn, never joined
            headers["Content-Length"] = str(len(Body))
            Body = Body.chunks()
        elif hasattr(Body, "read"):
            Body = Body.read()
        if isinstance(Body, str):
            Body = Body.encode("utf-8")
        if Accept:
            headers["Accept"] = Accept
        for argument, header in HEADERS.items():
            if kwargs.get(argument) is not None:
                headers[header] = str(kwargs[argument])
        url = self._next_url(endpoint)
        try:
            response = self._pool(url).urlopen("POST", "/invocations", body=Body, headers=headers,
                                                preload_content=True)
        except urllib3.exceptions.HTTPError as error:
            self._found.pop(EndpointName, None)
            raise client_error("ModelError", f"the model server of endpoint {EndpointName} at {url} did not "
                               f"answer ({error}); it may have stopped: check the endpoint's logs, or "
                               f"delete and deploy it again", "InvokeEndpoint", 424,
                               advice=log_advice(EndpointName, EndpointName in self._endpoints)) from None
        data = response.data
        if response.status >= 400:
            text = data.decode("utf-8", "replace")
            raise client_error("ModelError",
                               f'Received {"client" if response.status < 500 else "server"} error '
                               f'({response.status}) from {endpoint.variant} with message "{text}". ',
                               "InvokeEndpoint", 424,
                               {"OriginalStatusCode": response.status, "OriginalMessage": text},
                               advice=log_advice(EndpointName, EndpointName in self._endpoints))
        result = {
            "Body": StreamingBody(io.BytesIO(data), len(data)),
            "ContentType": response.headers.get("Content-Type", ""),
            "InvokedProductionVariant": endpoint.variant,
            "ResponseMetadata": {"HTTPStatusCode": response.status, "HTTPHeaders": dict(response.headers)},
        }
        custom = response.headers.get(HEADERS["CustomAttributes"])
        if custom is not None:
            result["CustomAttributes"] = custom
        return result

    def _elsewhere(self, name):
        """An endpoint of another session or process of this machine, found by name in the registry."""
        if name not in self._found:
            entry = registry.lookup(name)
            if entry is None:
                return None
            self._found[name] = RegisteredEndpoint(name, tuple(entry["urls"]))
        return self._found[name]

    def close(self):
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
