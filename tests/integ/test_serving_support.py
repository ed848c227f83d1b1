"""Helpers for the model-server integration tests: a real ``serve`` process on a loopback port.

Waits are on events: log lines read by a thread and signalled through a condition, each
with a bound. (This module holds no tests.)
"""
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

MODEL_CODE = '''
import os, signal, time
import numpy as np
from framework_sdk.container.serving import HTTPError

def model_fn(model_dir):
    return np.load(os.path.join(model_dir, "W.npy"))

def predict_fn(data, model, context):
    headers = context.request_headers
    if "x-sleep" in headers:
        time.sleep(float(headers["x-sleep"]))
    if "x-stuck" in headers:  # unreachable by SIGALRM: only the supervisor can end this
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
        time.sleep(float(headers["x-stuck"]))
    if "x-teapot" in headers:
        raise HTTPError(418, "I am a teapot")
    if "x-boom" in headers:
        raise RuntimeError("boom in predict_fn")
    return np.asarray(data, dtype=np.float32) @ model
'''


def write_model(base_dir, code=MODEL_CODE, W=None):
    """An /opt/ml-like tree with ``model/W.npy`` (16x3) and ``model/code/inference.py``; returns W."""
    import numpy as np

    W = np.arange(48, dtype=np.float32).reshape(16, 3) if W is None else W
    code_dir = base_dir / "model" / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    np.save(base_dir / "model" / "W.npy", W)
    if code is not None:
        (code_dir / "inference.py").write_text(code)
    return W


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``python -m framework_sdk.container serve`` with SageMaker's variables; its log is collected."""

    def __init__(self, base_dir, workers=2, **env):
        self.port = free_port()
        self.workers = workers
        environ = dict(os.environ, SAGEMAKER_BASE_DIR=str(base_dir), SAGEMAKER_BIND_TO_PORT=str(self.port),
                       SAGEMAKER_MODEL_SERVER_WORKERS=str(workers), FRAMEWORK_SDK_BIND_HOST="127.0.0.1",
                       PYTHONUNBUFFERED="1")
        environ.update({key: str(value) for key, value in env.items()})
        self.lines = []
        self.changed = threading.Condition()
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-m", "framework_sdk.container", "serve"], env=environ,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append(None)  # end of output
            self.changed.notify_all()

    @property
    def log(self):
        return "\n".join(line for line in self.lines if line is not None)

    def wait_for(self, pattern, timeout=30.0, start=0):
        """The first log line from index ``start`` matching ``pattern``; fails on exit or timeout."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines[start:]:
                    if line is None:
                        raise AssertionError(f"server exited before logging {pattern!r}:\n{self.log}")
                    match = regex.search(line)
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no log line matched {pattern!r} within {timeout}s:\n{self.log}")
                self.changed.wait(remaining)

    def wait_ready(self, timeout=30.0):
        """Until the server answers and every worker has loaded its model."""
        self.wait_for(r"model server ready on", timeout)
        for slot in range(self.workers):
            self.wait_for(rf"worker {slot} ready", timeout)
        return self

    def wait_exit(self, timeout=60.0):
        return self.process.wait(timeout)

    def worker_pids(self):
        """Slot -> pid of the latest ready worker in each slot."""
        pids = {}
        for line in list(self.lines):
            match = line and re.search(r"worker (\d+) ready \(pid (\d+)\)", line)
            if match:
                pids[int(match.group(1))] = int(match.group(2))
        return pids

    def request(self, method, path, body=None, headers=None, timeout=30.0):
        """One request on a new connection: ``(status, headers, body)``."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def invoke(self, body, content_type, accept=None, **headers):
        headers = {"Content-Type": content_type, **{k.replace("_", "-"): v for k, v in headers.items()}}
        if accept:
            headers["Accept"] = accept
        return self.request("POST", "/invocations", body, headers)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def rss_kib(pid):
    """Resident memory of a process in KiB (from /proc)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")
