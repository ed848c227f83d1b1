"""The model server as a real process: contract, error statuses, timeouts, worker restarts, start-up failures."""
import http.client
import json
import os
import signal
import tarfile

import numpy as np
import pytest

from framework_sdk import codecs
from test_serving_support import ServerProcess, write_model


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("ml")
    W = write_model(base)
    with ServerProcess(base, workers=2, SAGEMAKER_MODEL_SERVER_TIMEOUT=1.5,
                       SAGEMAKER_MAX_PAYLOAD_IN_MB=1) as process:
        process.wait_ready()
        process.W = W
        yield process


def test_ping_answers_only_once_the_model_is_loaded(tmp_path):
    fifo = tmp_path / "release"
    os.mkfifo(fifo)
    write_model(tmp_path, code=f"""
import numpy as np
def model_fn(model_dir):
    open({str(fifo)!r}).read()  # blocks until the test releases it
    return np.eye(2)
def predict_fn(data, model):
    return data @ model
""")
    with ServerProcess(tmp_path, workers=1) as server:
        server.wait_for(r"starting 1 worker")
        with pytest.raises(ConnectionRefusedError):
            server.request("GET", "/ping", timeout=2)
        with open(fifo, "w") as release:
            release.write("go")
        server.wait_ready()
        assert server.request("GET", "/ping")[0] == 200
        status, _, body = server.request("GET", "/execution-parameters")
        assert status == 200 and json.loads(body) == {"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD",
                                                      "MaxPayloadInMB": 6}


def test_invocations_in_every_format(server):
    x = np.arange(32, dtype=np.float32).reshape(2, 16)
    status, headers, body = server.invoke(bytes(codecs.npy_encode(x)), codecs.NPY, codecs.NPY)
    assert status == 200 and headers["content-type"] == codecs.NPY
    np.testing.assert_allclose(codecs.npy_decode(body), x @ server.W)
    status, headers, body = server.invoke(json.dumps(x.tolist()), codecs.JSON)
    assert status == 200 and headers["content-type"] == codecs.JSON
    np.testing.assert_allclose(json.loads(body), x @ server.W)
    status, _, body = server.invoke(codecs.csv_encode(x), codecs.CSV, codecs.CSV)
    np.testing.assert_allclose(codecs.csv_decode(body), x @ server.W)
    assert server.request("GET", "/invocations")[0] == 405
    assert server.request("GET", "/metrics")[0] == 404


@pytest.mark.parametrize("body, content_type, accept, status, fragment", [
    (b"<x/>", "text/xml", None, 415, "unsupported content type"),
    (b"[[1]]", codecs.JSON, "image/png", 406, "cannot answer in any type of Accept: image/png"),
    (b"[[1, 2", codecs.JSON, None, 400, "malformed JSON"),
    (b"1,2\n1\n", codecs.CSV, None, 400, "line 2 has 1 columns instead of 2"),
    (b"[[1]]", codecs.JSON, None, 500, "ValueError: matmul"),
])
def test_bad_requests_get_their_status_and_the_server_keeps_answering(server, body, content_type, accept, status,
                                                                      fragment):
    answer = server.invoke(body, content_type, accept)
    assert answer[0] == status, answer
    error = json.loads(answer[2])
    assert error["code"] == status and fragment in error["message"] and "Traceback" not in error["message"]
    assert server.invoke(json.dumps([[1.0] * 16]), codecs.JSON)[0] == 200


def test_user_errors_500_with_traceback_in_the_log_and_handler_statuses(server):
    start = len(server.lines)
    status, _, body = server.invoke(b"[[1]]", codecs.JSON, x_boom="1")
    assert status == 500 and json.loads(body)["message"] == "RuntimeError: boom in predict_fn"
    server.wait_for(r"RuntimeError: boom in predict_fn", start=start)
    assert any("Traceback" in line for line in server.lines[start:] if line)
    status, _, body = server.invoke(b"[[1]]", codecs.JSON, x_teapot="1")
    assert (status, json.loads(body)["message"]) == (418, "I am a teapot")


def test_bodies_over_the_limit_get_413(server):
    big = b"0" * (2 << 20)
    status, _, body = server.invoke(big, codecs.JSON)
    assert status == 413 and b"SAGEMAKER_MAX_PAYLOAD_IN_MB=1" in body
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)  # chunked: no Content-Length
    connection.request("POST", "/invocations", body=iter([b"1" * (256 << 10)] * 8),
                       headers={"Content-Type": codecs.CSV}, encode_chunked=True)
    assert connection.getresponse().status == 413
    connection.close()
    assert server.invoke(json.dumps([[1.0] * 16]), codecs.JSON)[0] == 200


def test_timeout_gives_504_and_replaces_the_worker(server):
    start = len(server.lines)
    before = server.worker_pids()
    status, headers, body = server.invoke(b"[[1]]", codecs.JSON, x_sleep="30")
    assert status == 504 and b"SAGEMAKER_MODEL_SERVER_TIMEOUT=1.5s" in body
    slot = int(server.wait_for(r"worker (\d+) \(pid \d+\) exited with code 0; starting a replacement",
                               start=start).group(1))
    server.wait_for(rf"worker {slot} ready", start=start)
    assert server.worker_pids()[slot] != before[slot]
    assert server.invoke(json.dumps([[1.0] * 16]), codecs.JSON)[0] == 200


def test_stuck_worker_is_killed_by_the_supervisor(server):
    start = len(server.lines)
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        server.invoke(b"[[1]]", codecs.JSON, x_stuck="60")
    server.wait_for(r"did not stop; killing it", start=start)
    slot = server.wait_for(r"worker (\d+) \(pid \d+\) was killed by SIGKILL", start=start).group(1)
    server.wait_for(rf"worker {slot} ready", start=start)
    assert server.request("GET", "/ping")[0] == 200


def test_dead_worker_is_restarted_while_ping_stays_200(server):
    start = len(server.lines)
    pids = server.worker_pids()
    os.kill(pids[0], signal.SIGKILL)
    replaced = None
    pings = 0
    while replaced is None:  # ping without pause until the supervisor reports the replacement ready
        assert server.request("GET", "/ping", timeout=5)[0] == 200
        pings += 1
        replaced = next((line for line in server.lines[start:] if line and "worker 0 ready" in line), None)
        assert pings < 20000, server.log
    assert server.worker_pids()[0] != pids[0] and server.worker_pids()[1] == pids[1]


def test_model_fn_failure_stops_start_up(tmp_path):
    write_model(tmp_path, code="def model_fn(model_dir):\n    raise FileNotFoundError('model.npz is missing')\n")
    with ServerProcess(tmp_path, workers=2) as server:
        assert server.wait_exit(60) == 1
    assert "FileNotFoundError: model.npz is missing" in server.log and "Traceback" in server.log
    last = server.log.splitlines()[-1]
    assert "model server stopped" in last and "FileNotFoundError: model.npz is missing" in last


@pytest.mark.parametrize("files, env, fragment", [
    ({"inference.py": "def model_fn(d): return 1\ndef transform_fn(m, b, c, a): return b\n"
                      "def input_fn(b, c): return b\n"}, {}, "defines transform_fn and input_fn"),
    ({"inference.py": "x = 1\n", "requirements.txt": "this is not a requirement ===\n"}, {}, "pip"),
    ({"serve.py": "def model_fn(d): return 1\n"}, {"SAGEMAKER_PROGRAM": "missing.py"}, "'missing.py' is not in"),
    ({}, {"FRAMEWORK_SDK_PREDICTOR_CLASS": "nowhere.Predictor"}, "'nowhere.Predictor' not found"),
    ({"inference.py": "import numpy\n"}, {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "soon"}, "not a number"),
])
def test_start_up_errors_exit_non_zero_with_a_clear_last_line(tmp_path, files, env, fragment):
    write_model(tmp_path, code=None)
    for name, text in files.items():
        (tmp_path / "model" / "code" / name).write_text(text)
    with ServerProcess(tmp_path, workers=1, **env) as server:
        assert server.wait_exit(120) in (1, 2)
    last = server.log.splitlines()[-1]
    assert fragment in last and ("did not start" in last or "model server stopped" in last), server.log


def test_submit_directory_tarball_and_program(tmp_path):
    write_model(tmp_path, code=None)
    (tmp_path / "model" / "code").rmdir()
    source = tmp_path / "src"
    source.mkdir()
    (source / "serve_me.py").write_text("import numpy as np\ndef model_fn(d):\n    return np.load(d + '/W.npy')\n"
                                        "def predict_fn(x, m):\n    return x @ m\n")
    with tarfile.open(tmp_path / "sourcedir.tar.gz", "w:gz") as tar:
        tar.add(source / "serve_me.py", arcname="serve_me.py")
    with ServerProcess(tmp_path, workers=1, SAGEMAKER_SUBMIT_DIRECTORY=tmp_path / "sourcedir.tar.gz",
                       SAGEMAKER_PROGRAM="serve_me.py") as server:
        server.wait_ready()
        status, _, body = server.invoke(json.dumps([[1.0] * 16]), codecs.JSON)
        assert status == 200 and len(json.loads(body)[0]) == 3


LABELS = "def model_fn(model_dir):\n    return None\n\ndef predict_fn(data, model):\n    return data.argmax(axis=1)\n"


def test_a_one_dimensional_csv_answer_is_one_value_per_line(tmp_path):
    """As numpy.savetxt writes it in SageMaker's model servers: one label per input row, each on its line."""
    import io

    from framework_sdk.serializers import CSVDeserializer, CSVSerializer

    write_model(tmp_path, code=LABELS)
    with ServerProcess(tmp_path, workers=1) as server:
        server.wait_ready()
        rows = CSVSerializer().serialize([[0, 1, 0], [0, 0, 1], [1, 0, 0]])
        status, headers, body = server.invoke(rows, codecs.CSV, codecs.CSV)
        assert (status, headers["content-type"], body) == (200, codecs.CSV, b"1\n2\n0\n")
        assert CSVDeserializer().deserialize(io.BytesIO(body), codecs.CSV) == [["1"], ["2"], ["0"]]
        one_record = CSVSerializer().serialize([0, 0, 1])  # the client still sends a 1-D list as one record
        assert one_record == b"0,0,1\n"
        assert server.invoke(one_record, codecs.CSV, codecs.CSV)[2] == b"2\n"


def test_batch_transform_keeps_a_single_records_vector_on_one_line(tmp_path):
    write_model(tmp_path, code=LABELS.replace("data.argmax(axis=1)", "data[0] * 2"))
    with ServerProcess(tmp_path, workers=1, SAGEMAKER_BATCH="true") as server:
        server.wait_ready()
        assert server.invoke(b"1,2,3\n", codecs.CSV)[2] == b"2.0,4.0,6.0\n"
        assert server.invoke(b"1,2,3\n", codecs.CSV, codecs.CSV)[2] == b"2.0,4.0,6.0\n"
