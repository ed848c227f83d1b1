"""Local batch transform against a real HTTP model server (stdlib, in this process): the batch contract.

The server advertises ``/execution-parameters``; the job must use them where the request is
silent, pack ``MultiRecord`` bodies up to ``MaxPayloadInMB``, keep ``MaxConcurrentTransforms``
requests in flight (never more), and write ``<file>.out`` with one response per line.
"""
import http.server
import json
import threading

import pytest

from framework_sdk.local.storage import Storage
from framework_sdk.local.transform import MB, TransformJob

RECORD_BYTES = 400 * 1024  # two records fit in 1 MB, three do not


class ModelServer(http.server.ThreadingHTTPServer):
    """Answers each request with one line per record (the record's first field); counts what it saw."""

    daemon_threads = True

    def __init__(self, advised, concurrency):
        super().__init__(("127.0.0.1", 0), Handler)
        self.advised = advised
        self.bodies, self.headers_seen = [], []
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        # the first `concurrency` requests must all be in flight at once to pass
        self.together = threading.Barrier(concurrency, timeout=10)
        self.concurrency = concurrency

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, body, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._answer(json.dumps(self.server.advised).encode(), "application/json")

    def do_POST(self):
        server = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with server.lock:
            server.in_flight += 1
            server.most_in_flight = max(server.most_in_flight, server.in_flight)
            server.bodies.append(body)
            server.headers_seen.append((self.headers["Content-Type"], self.headers.get("Accept")))
            first = len(server.bodies) <= server.concurrency
        try:
            if first:
                server.together.wait()
        finally:
            with server.lock:
                server.in_flight -= 1
        self._answer(b"\n".join(record.split(b",")[0] for record in body.split(b"\n")), "text/csv")


@pytest.fixture
def server(request):
    advised, concurrency = request.param
    made = ModelServer(advised, concurrency)
    threading.Thread(target=made.serve_forever, daemon=True).start()
    yield made
    made.shutdown()
    made.server_close()


def job(tmp_path, **request):
    data = tmp_path / "in"
    (data / "nested").mkdir(parents=True)
    rows = [f"{i},{'x' * (RECORD_BYTES - 10)}" for i in range(12)]
    (data / "nested" / "rows.csv").write_text("\n".join(rows) + "\n")
    for name in ("small-1.csv", "small-2.csv", "small-3.csv"):  # many small files are sent at once too
        (data / name).write_text(f"{name},1\n\n{name},2\n")
    full = {"TransformJobName": "t", "ModelName": "m",
            "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": f"file://{data}"}},
                               "ContentType": "text/csv", "SplitType": "Line"},
            "TransformOutput": {"S3OutputPath": f"file://{tmp_path}/out", "AssembleWith": "Line",
                                "Accept": "text/csv"}, **request}
    made = TransformJob(full, {"ModelName": "m"}, backend=None, storage=Storage())
    (tmp_path / "scratch").mkdir()
    return made


@pytest.mark.parametrize("server", [({"MaxConcurrentTransforms": 3, "BatchStrategy": "MultiRecord",
                                      "MaxPayloadInMB": 1}, 3)], indirect=True)
def test_execution_parameters_fill_in_what_the_request_leaves_out(server, tmp_path):
    job(tmp_path)._transform(server.url, tmp_path / "scratch")
    big = [body for body in server.bodies if len(body) > MB // 2]
    assert len(big) == 6 and all(len(body) <= MB and body.count(b"\n") == 1 for body in big)  # 2 records each
    assert server.most_in_flight == 3  # MaxConcurrentTransforms, reached and never passed
    assert set(server.headers_seen) == {("text/csv", "text/csv")}
    assert (tmp_path / "out" / "nested" / "rows.csv.out").read_text() == "".join(f"{i}\n" for i in range(12))
    assert (tmp_path / "out" / "small-2.csv.out").read_text() == "small-2.csv\nsmall-2.csv\n"  # 2 records


@pytest.mark.parametrize("server", [({"MaxConcurrentTransforms": 3, "BatchStrategy": "MultiRecord",
                                      "MaxPayloadInMB": 1}, 2)], indirect=True)
def test_the_request_wins_over_the_server(server, tmp_path):
    transform = job(tmp_path, BatchStrategy="SingleRecord", MaxConcurrentTransforms=2)
    transform._transform(server.url, tmp_path / "scratch")
    assert len(server.bodies) == 18 and all(b"\n" not in body for body in server.bodies)
    assert server.most_in_flight == 2
    assert (tmp_path / "out" / "nested" / "rows.csv.out").read_text().split() == [str(i) for i in range(12)]


@pytest.mark.parametrize("server", [({"MaxConcurrentTransforms": 1}, 3)], indirect=True)
def test_small_files_are_sent_concurrently(server, tmp_path):
    transform = job(tmp_path, MaxConcurrentTransforms=3)
    (tmp_path / "in" / "nested" / "rows.csv").unlink()  # only the three one-request files
    transform._transform(server.url, tmp_path / "scratch")
    assert len(server.bodies) == 3 and server.most_in_flight == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["small-1.csv.out", "small-2.csv.out",
                                                                    "small-3.csv.out"]
