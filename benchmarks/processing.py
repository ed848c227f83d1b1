#!/usr/bin/env python3
"""A ScriptProcessor job against the SageMaker Python SDK v2's local mode, in one run, on one image.

    .venv/bin/python benchmarks/processing.py [--repeat 3] [--megabytes 50] [--skip-sagemaker]

The job (issue 16): transform.py reads a 50 MB CSV and writes a transformed copy (every value
doubled, line by line). Both SDKs run it as a ScriptProcessor (``command=["python3"]``, one
instance) on the same image, framework-sdk-python:3.11-cpu-py3, with Docker; the input and the
output are on a local S3 server (moto), since SageMaker v2's local processing reads and writes S3
only. Printed, as medians over --repeat runs: the wall time of ``run()`` for

- SageMaker v2 (docker, s3://);
- ours on the docker backend, s3:// as the peer, and file:// (local data used in place);
- ours on the process backend, file://, next to the script's own time (transform.py run directly
  by the same interpreter on the same file, outside any job): the difference is the overhead.

Targets: the docker backend at most half of SageMaker v2's wall time; the process backend under
1 s of overhead above the script's own time. The SageMaker SDK runs in a throwaway venv
(benchmarks/_peers.py, ``sagemaker<3``) and needs docker-compose; it gets a region, dummy
credentials, the S3 server as its endpoint and its telemetry switched off.
"""
import argparse
import contextlib
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
IMAGE = "framework-sdk-python:3.11-cpu-py3"
BUCKET = "bench"

TRANSFORM = '''
import argparse, os, time
parser = argparse.ArgumentParser()
parser.add_argument("--input", default="/opt/ml/processing/input")
parser.add_argument("--output", default="/opt/ml/processing/output")
parser.add_argument("--transform", choices=("tsv", "double"), default="tsv")
args = parser.parse_args()
started = time.perf_counter()
source = os.path.join(args.input, "data.csv")
os.makedirs(args.output, exist_ok=True)
if args.transform == "tsv":  # CSV -> TSV, 1 MB at a time: the job is mostly reading and writing
    with open(source, "rb") as rows, open(os.path.join(args.output, "data.tsv"), "wb") as out:
        for chunk in iter(lambda: rows.read(1 << 20), b""):
            out.write(chunk.replace(b",", b"\\t"))
else:  # every value doubled, parsed and printed by Python: the job is mostly the script's own work
    with open(source) as rows, open(os.path.join(args.output, "data.csv"), "w") as out:
        for line in rows:
            out.write(",".join(str(2 * float(value)) for value in line.split(",")) + "\\n")
print(f"{args.transform}: {os.path.getsize(source) / 1e6:.0f} MB in {time.perf_counter() - started:.2f} s", flush=True)
'''

SAGEMAKER_SCRIPT = r'''
import json, sys, time
import boto3
from sagemaker.local import LocalSession
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor

image, code, source, destination, endpoint, transform = sys.argv[1:7]
session = LocalSession(boto_session=boto3.Session(region_name="us-east-1"), s3_endpoint_url=endpoint,
                       default_bucket="bench", disable_local_code=True)
processor = ScriptProcessor(role="arn:aws:iam::111111111111:role/benchmark", image_uri=image, command=["python3"],
                            instance_count=1, instance_type="local", sagemaker_session=session)
started = time.perf_counter()
processor.run(code=code, inputs=[ProcessingInput(source, "/opt/ml/processing/input")],
              outputs=[ProcessingOutput("/opt/ml/processing/output", destination)],
              arguments=["--transform", transform], logs=False)
print("RESULT " + json.dumps(time.perf_counter() - started), flush=True)
'''


def write_csv(path, megabytes):
    """A CSV of 8 float columns, about ``megabytes`` MB."""
    import numpy as np

    rows = int(megabytes * 1e6 / 80)
    values = np.random.default_rng(0).normal(100, 30, (rows, 8))
    np.savetxt(path, values, delimiter=",", fmt="%.5f")
    return path


@contextlib.contextmanager
def s3_server():
    """moto's server on a free loopback port (its own process); the environment pointed at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ready = threading.Event()

    def watch():
        for line in server.stderr:
            if "Running on" in line:
                ready.set()
        ready.set()

    threading.Thread(target=watch, daemon=True).start()
    if not ready.wait(60) or server.poll() is not None:
        server.kill()
        raise SystemExit("moto_server did not start")
    url = f"http://127.0.0.1:{port}"
    saved = {name: os.environ.get(name) for name in ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID",
                                                     "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ENDPOINT_URL_S3=url, AWS_ACCESS_KEY_ID="benchmark", AWS_SECRET_ACCESS_KEY="benchmark",
                      AWS_DEFAULT_REGION="us-east-1")
    try:
        yield url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.terminate()
        server.wait(10)


def ours(session, code, source, destination, transform):
    """Wall time of our ScriptProcessor.run() on ``session``'s backend."""
    from framework_sdk import ProcessingInput, ProcessingOutput, ScriptProcessor

    processor = ScriptProcessor(image_uri=IMAGE, command=["python3"], instance_type="local", instance_count=1,
                                sagemaker_session=session)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        processor.run(str(code), inputs=[ProcessingInput(source, "/opt/ml/processing/input")],
                      outputs=[ProcessingOutput("/opt/ml/processing/output", destination)],
                      arguments=["--transform", transform], logs=False)
    return time.perf_counter() - started


def script_alone(python, code, data_dir, output, transform):
    """transform.py run directly by the framework environment's python on the same file."""
    started = time.perf_counter()
    subprocess.run([python, str(code), "--input", str(data_dir), "--output", str(output), "--transform", transform],
                   check=True, capture_output=True)
    return time.perf_counter() - started


def sagemaker_peer(work, endpoint):
    """A function running one SageMaker v2 job in its own venv: ``(code, source, destination, transform) -> s``."""
    from _peers import peer_env, sagemaker_v2_python

    if not shutil.which("docker-compose"):
        raise SystemExit("the SageMaker SDK's local mode needs docker-compose: apt-get install docker-compose "
                         "(or run with --skip-sagemaker)")
    python = sagemaker_v2_python()
    config = work / "sagemaker-config.yaml"
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    script = work / "sagemaker_v2_processing.py"
    script.write_text(SAGEMAKER_SCRIPT)
    scratch = work / "sagemaker-tmp"
    scratch.mkdir()
    env = dict(peer_env(), AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="benchmark",
               AWS_SECRET_ACCESS_KEY="benchmark", AWS_EC2_METADATA_DISABLED="true", AWS_ENDPOINT_URL=endpoint,
               SAGEMAKER_USER_CONFIG_OVERRIDE=str(config), SAGEMAKER_ADMIN_CONFIG_OVERRIDE=str(config),
               TMPDIR=str(scratch))

    def run(code, source, destination, transform):
        done = subprocess.run([python, str(script), IMAGE, str(code), source, destination, endpoint, transform],
                              env=env, cwd=work, capture_output=True, text=True, timeout=1800)
        for line in done.stdout.splitlines():
            if "RESULT " in line:  # docker-compose's output may precede it on the line
                return json.loads(line.split("RESULT ", 1)[1])
        raise SystemExit(f"the SageMaker SDK run failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n"
                         f"{done.stderr[-5000:]}")

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per SDK and backend, interleaved (medians)")
    parser.add_argument("--megabytes", type=float, default=50, help="size of the CSV input")
    parser.add_argument("--transform", choices=("tsv", "double"), default="tsv",
                        help="tsv: CSV to TSV in 1 MB chunks (mostly I/O: the SDKs' own cost shows); double: every "
                             "value parsed and doubled in Python (mostly the script's own work)")
    parser.add_argument("--skip-sagemaker", action="store_true")
    args = parser.parse_args()

    from framework_sdk import LocalSession, venvs
    from framework_sdk.images import build

    build(["python"])  # the image both SDKs run (cached: seconds when unchanged)
    python = str(venvs.framework_python("python", "3.11"))  # the process backend's, built before timing
    results = {}
    with tempfile.TemporaryDirectory(prefix="fsdk-bench-processing-") as folder, s3_server() as endpoint:
        work = Path(folder)
        code = work / "transform.py"
        code.write_text(TRANSFORM)
        (work / "data").mkdir()
        data = write_csv(work / "data" / "data.csv", args.megabytes)
        import boto3

        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(data), BUCKET, "input/data.csv")
        source, destination = f"s3://{BUCKET}/input", f"s3://{BUCKET}/output"
        peer = None if args.skip_sagemaker else sagemaker_peer(work, endpoint)
        docker, process = LocalSession(backend="docker"), LocalSession(backend="process")
        try:
            for cycle in range(args.repeat):  # interleaved, so a busy moment of the machine hits every row
                runs = {
                    "ours docker, s3://": partial(ours, docker, code, source, f"{destination}/docker-{cycle}"),
                    "ours docker, file://": partial(ours, docker, code, f"file://{work}/data",
                                                    f"file://{work}/out/docker-{cycle}"),
                    "ours process, file://": partial(ours, process, code, f"file://{work}/data",
                                                     f"file://{work}/out/process-{cycle}"),
                    "transform.py alone": partial(script_alone, python, code, work / "data",
                                                  work / "out" / f"alone-{cycle}"),
                }
                if peer is not None:
                    runs["SageMaker v2 docker, s3://"] = partial(peer, code, source, f"{destination}/sagemaker-{cycle}")
                for name, run in runs.items():
                    results.setdefault(name, []).append(run(args.transform))
                print(f"benchmark: cycle {cycle + 1} of {args.repeat}: " + ", ".join(
                    f"{name} {values[-1]:.2f} s" for name, values in results.items()), file=sys.stderr, flush=True)
        finally:
            docker.close()
            process.close()

    print(f"\nScriptProcessor.run(), {args.megabytes:g} MB CSV -> transformed copy ({args.transform}), image "
          f"{IMAGE}, median of {args.repeat} interleaved runs")
    median = {name: statistics.median(timings) for name, timings in results.items()}
    for name, value in median.items():
        print(f"  {name:<28}{value:8.2f} s")
    if "SageMaker v2 docker, s3://" in median:
        for name in ("ours docker, s3://", "ours docker, file://"):
            print(f"ratio SageMaker v2 / {name}: {median['SageMaker v2 docker, s3://'] / median[name]:.2f}x   "
                  f"target: >= 2x (docker at most half)")
    overhead = median["ours process, file://"] - median["transform.py alone"]
    print(f"process backend overhead above the script's own time: {overhead:.2f} s   target: < 1 s")


if __name__ == "__main__":
    main()
