#!/usr/bin/env python3
"""Model server throughput: ours vs the classic stack (Flask under gunicorn sync workers) vs a bare
uvicorn ASGI app (the floor), same model, same machine, same run.

Each server runs 2 workers on a loopback port and serves ``y = x @ W`` (W 16x3 float32 loaded
from the model folder), decoding and encoding with :mod:`framework_sdk.codecs` so only the
server stack differs. ``wrk`` (8 connections, 10 s) drives two loads: a 1x16 NPY request with
a JSON answer, and a 4096x16 NPY request (256 KB) with an NPY answer. Also measured: seconds
from starting our server until ``/ping`` answers 200 (model that loads instantly).

    .venv/bin/pip install -e .[bench]     # flask + gunicorn for the classic stack
    .venv/bin/python benchmarks/serving.py [--duration 10] [--connections 8]
"""
import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

INFERENCE = """
import os
import numpy as np

def model_fn(model_dir):
    return np.load(os.path.join(model_dir, "W.npy"))

def predict_fn(data, model):
    return data @ model
"""

CLASSIC = """
import os
import numpy as np
from flask import Flask, Response, request
from framework_sdk import codecs

app = Flask(__name__)
W = np.load(os.path.join(os.environ["MODEL_DIR"], "W.npy"))

@app.route("/ping", methods=["GET"])
def ping():
    return Response(status=200)

@app.route("/invocations", methods=["POST"])
def invocations():
    data = codecs.decode(request.get_data(), request.content_type)
    accept = codecs.negotiate(request.headers.get("Accept"), codecs.SUPPORTED, codecs.JSON)
    return Response(bytes(codecs.encode(data @ W, accept)), status=200, mimetype=accept)
"""

FLOOR = """
import os
import numpy as np
from framework_sdk import codecs

W = np.load(os.path.join(os.environ["MODEL_DIR"], "W.npy"))

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/ping":
        body, kind = b"", b"application/json"
    else:
        headers = dict(scope["headers"])
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        accept = headers.get(b"accept", b"application/json").decode()
        body = codecs.encode(codecs.decode(b"".join(chunks), headers[b"content-type"].decode()) @ W, accept)
        kind = accept.encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", kind), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})
"""

WRK_SCRIPT = """
wrk.method = "POST"
local f = io.open("{body}", "rb")
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/x-npy"
wrk.headers["Accept"] = "{accept}"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, process, bound=30.0):
    """Seconds until GET /ping answers 200 (short backoff, bounded)."""
    started = time.monotonic()
    delay = 0.005
    while time.monotonic() - started < bound:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering /ping")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
    raise RuntimeError(f"/ping did not answer within {bound}s")


def start(name, workdir, model_dir, port):
    env = dict(os.environ, MODEL_DIR=str(model_dir), PYTHONPATH=str(workdir))
    if name == "ours":
        env.update(SAGEMAKER_BASE_DIR=str(model_dir.parent), SAGEMAKER_BIND_TO_PORT=str(port),
                   SAGEMAKER_MODEL_SERVER_WORKERS="2", FRAMEWORK_SDK_BIND_HOST="127.0.0.1",
                   SAGEMAKER_CONTAINER_LOG_LEVEL="WARNING")
        command = [PYTHON, "-m", "framework_sdk.container", "serve"]
    elif name == "classic":
        command = [PYTHON, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
                   "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "classic_app:app"]
    else:
        command = [PYTHON, "-m", "uvicorn", "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
                   "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
                   "floor_app:app"]
    return subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def wrk(port, script, duration, connections):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
               f"http://127.0.0.1:{port}/invocations"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rate, _latency(out, "50%"), _latency(out, "99%")


def _latency(out, percentile):
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    for module in ("flask", "gunicorn"):
        try:
            __import__(module)
        except ImportError:
            sys.exit(f"{module} is missing for the classic stack: {PYTHON} -m pip install -e '.[bench]'")

    work = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    try:
        model_dir = work / "ml" / "model"
        (model_dir / "code").mkdir(parents=True)
        rng = np.random.default_rng(0)
        np.save(model_dir / "W.npy", rng.standard_normal((16, 3)).astype(np.float32))
        (model_dir / "code" / "inference.py").write_text(textwrap.dedent(INFERENCE))
        (work / "classic_app.py").write_text(textwrap.dedent(CLASSIC))
        (work / "floor_app.py").write_text(textwrap.dedent(FLOOR))
        loads = {}
        for name, rows, accept in (("small", 1, "application/json"), ("large", 4096, "application/x-npy")):
            body = work / f"{name}.npy"
            np.save(body, rng.standard_normal((rows, 16)).astype(np.float32))
            script = work / f"{name}.lua"
            script.write_text(WRK_SCRIPT.format(body=body, accept=accept))
            loads[name] = script

        results, ready = {}, {}
        for name in ("ours", "classic", "floor"):
            port = free_port()
            process = start(name, work, model_dir, port)
            try:
                ready[name] = wait_ready(port, process)
                wrk(port, loads["small"], 2, args.connections)  # warm-up
                for load, script in loads.items():
                    results[name, load] = wrk(port, script, args.duration, args.connections)
            finally:
                stop(process)
        report(results, ready, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results, ready, args):
    print(f"\nwrk: 2 threads, {args.connections} connections, {args.duration} s; 2 workers per server; "
          f"{os.cpu_count()} CPUs\n")
    print(f"{'server':<34}{'load':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    labels = {"ours": "ours (uvicorn workers, supervisor)", "classic": "classic (Flask + gunicorn sync)",
              "floor": "floor (bare ASGI on uvicorn)"}
    names = {"small": "1x16 NPY -> JSON", "large": "4096x16 NPY -> NPY"}
    for name in ("ours", "classic", "floor"):
        for load in ("small", "large"):
            rate, p50, p99 = results[name, load]
            print(f"{labels[name]:<34}{names[load]:<22}{rate:>10.0f}{p50:>10.2f}{p99:>10.2f}")
    print()
    checks = []
    for load, classic_target in (("small", 3.0), ("large", 1.3)):
        ours, classic, floor = (results[n, load] for n in ("ours", "classic", "floor"))
        vs_classic, vs_floor = ours[0] / classic[0], ours[0] / floor[0]
        print(f"{names[load]}: ours/classic = {vs_classic:.2f}x, ours/floor = {vs_floor:.0%}, "
              f"p99 ours {ours[2]:.2f} ms vs classic {classic[2]:.2f} ms")
        checks.append((f"{load}: >= {classic_target}x classic", vs_classic >= classic_target))
        checks.append((f"{load}: p99 <= classic", ours[2] <= classic[2]))
    small_floor = results["ours", "small"][0] / results["floor", "small"][0]
    checks.append(("small: >= 85% of floor", small_floor >= 0.85))
    print(f"/ping ready after start: ours {ready['ours']:.2f} s, classic {ready['classic']:.2f} s, "
          f"floor {ready['floor']:.2f} s")
    checks.append(("/ping ready within 1.5 s", ready["ours"] <= 1.5))
    print("\n" + "\n".join(f"[{'ok' if passed else 'MISS'}] {label}" for label, passed in checks))


if __name__ == "__main__":
    main()
