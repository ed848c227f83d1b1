"""botocore sends NumpySerializer's ChunkedBody intact over real HTTP (InvokeEndpoint to a loopback server)."""
import http.server
import threading

import boto3
import numpy as np
import pytest

from framework_sdk import codecs
from framework_sdk.predictor import Predictor
from framework_sdk.serializers import NumpyDeserializer, NumpySerializer
from framework_sdk.session import Session


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers InvokeEndpoint with the request array times two, and keeps what it received."""

    received = []

    def do_POST(self):  # http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.received.append((self.path, self.headers.get("Content-Type"), body))
        answer = bytes(codecs.npy_encode(codecs.npy_decode(body) * 2))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-npy")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def runtime_endpoint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_predictor_sends_a_large_npy_array_without_joining_it(runtime_endpoint):
    boto = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-west-2")
    runtime = boto.client("sagemaker-runtime", endpoint_url=runtime_endpoint)
    session = Session(boto_session=boto, sagemaker_runtime_client=runtime)
    predictor = Predictor("npy-endpoint", session, serializer=NumpySerializer(), deserializer=NumpyDeserializer())
    array = np.random.default_rng(0).standard_normal((2048, 512)).astype("float32")  # 4 MB
    result = predictor.predict(array)
    np.testing.assert_array_equal(result, array * 2)
    path, content_type, body = Recorder.received[-1]
    assert path == "/endpoints/npy-endpoint/invocations" and content_type == "application/x-npy"
    assert body == bytes(codecs.npy_encode(array))
