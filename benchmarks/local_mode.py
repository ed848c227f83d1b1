#!/usr/bin/env python3
"""Local mode against the SageMaker Python SDK v2's local mode, in one run, on one image.

    .venv/bin/python benchmarks/local_mode.py [--repeat 3] [--predicts 200] [--skip-sagemaker]

Both SDKs run the same bring-your-own image (tests/integ/local_byo_image: a `train` that
fits least squares with numpy, a `serve` answering CSV) on the docker backend and print,
for each: fit() wall time, time from deploy() to a first successful predict(), the median
predict() latency of a one-row CSV request, and delete_endpoint() time (medians over
--repeat cycles), then the ratios (theirs / ours). Our process backend is measured too,
on the python framework environment with a model that loads instantly; it has no peer.

The SageMaker SDK runs in a throwaway venv (benchmarks/_peers.py, ``sagemaker<3``) and
needs Debian's docker-compose (``apt-get install docker-compose``); it gets a region, dummy
credentials and its telemetry switched off (``TelemetryOptOut`` in its config file).
"""
import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE_DIR = ROOT / "tests" / "integ" / "local_byo_image"
sys.path.insert(0, str(ROOT / "benchmarks"))
TARGETS = {  # from issue 5
    "docker": {"fit": "<= half of SageMaker's", "deploy": "< 2 s", "predict": "< 2 ms", "delete": ""},
    "process": {"fit": "< 0.5 s", "deploy": "< 1.5 s", "predict": "", "delete": ""},
}

SAGEMAKER_SCRIPT = r'''
import json, statistics, sys, time
from sagemaker.local import LocalSession
from sagemaker.estimator import Estimator
from sagemaker.serializers import CSVSerializer
from sagemaker.deserializers import CSVDeserializer

image, data, out, repeat, predicts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
session = LocalSession()
session.config = {"local": {"local_code": True}}
timings = {"fit": [], "deploy": [], "predict": [], "delete": []}
for cycle in range(repeat):
    estimator = Estimator(image_uri=image, role="arn:aws:iam::111111111111:role/benchmark", instance_count=1,
                          instance_type="local", sagemaker_session=session, output_path="file://" + out)
    started = time.perf_counter()
    estimator.fit({"train": "file://" + data})
    timings["fit"].append(time.perf_counter() - started)
    started = time.perf_counter()
    predictor = estimator.deploy(1, "local", serializer=CSVSerializer(), deserializer=CSVDeserializer())
    predictor.predict("1,1")
    timings["deploy"].append(time.perf_counter() - started)
    latencies = []
    for _ in range(predicts):
        started = time.perf_counter()
        predictor.predict("1,1")
        latencies.append(time.perf_counter() - started)
    timings["predict"].append(statistics.median(latencies))
    started = time.perf_counter()
    predictor.delete_endpoint()
    timings["delete"].append(time.perf_counter() - started)
print("RESULT " + json.dumps(timings), flush=True)
'''

TRAIN = """import os, numpy as np
rows = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",", ndmin=2)
np.save(os.path.join(os.environ["SM_MODEL_DIR"], "w.npy"), np.linalg.lstsq(rows[:, :-1], rows[:, -1], rcond=None)[0])
"""
INFERENCE = """import os, numpy as np
def model_fn(model_dir):
    return np.load(os.path.join(model_dir, "w.npy"))
def predict_fn(data, model):
    return (np.asarray(data, dtype=float).reshape(-1, len(model)) @ model).reshape(-1, 1)
"""


def build_image():
    import docker

    client = docker.from_env(timeout=600)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(IMAGE_DIR.iterdir()))).hexdigest()[:12]
    tag = f"fsdk-bench-byo:{digest}"
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        print(f"benchmark: building {tag} from {IMAGE_DIR}", file=sys.stderr, flush=True)
        client.images.build(path=str(IMAGE_DIR), tag=tag, rm=True)
    return tag


def cycles(make_estimator, make_model, data, repeat, predicts):
    """fit / deploy-to-first-predict / predict / delete timings of our SDK, ``repeat`` times."""
    from framework_sdk.serializers import CSVDeserializer, CSVSerializer

    timings = {"fit": [], "deploy": [], "predict": [], "delete": []}
    for cycle in range(repeat):
        estimator = make_estimator()
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the job's log lines
            estimator.fit({"train": f"file://{data}"})
        timings["fit"].append(time.perf_counter() - started)
        model = make_model(estimator)
        started = time.perf_counter()
        predictor = model.deploy(1, "local", serializer=CSVSerializer(), deserializer=CSVDeserializer(),
                                 endpoint_name=f"bench-{os.getpid()}-{cycle}")
        predictor.predict("1,1")
        timings["deploy"].append(time.perf_counter() - started)
        latencies = []
        for _ in range(predicts):
            started = time.perf_counter()
            predictor.predict("1,1")
            latencies.append(time.perf_counter() - started)
        timings["predict"].append(statistics.median(latencies))
        started = time.perf_counter()
        predictor.delete_endpoint()
        timings["delete"].append(time.perf_counter() - started)
    return timings


def ours_docker(image, data, out, repeat, predicts):
    from framework_sdk import Estimator, LocalSession

    session = LocalSession(backend="docker")
    return cycles(lambda: Estimator(image, instance_type="local", instance_count=1, sagemaker_session=session,
                                    output_path=f"file://{out}/ours"),
                  lambda estimator: estimator.create_model(), data, repeat, predicts)


def ours_process(work, data, repeat, predicts):
    from framework_sdk import LocalSession, venvs
    from framework_sdk.estimator import Framework
    from framework_sdk.model import FrameworkModel

    class ScriptModel(FrameworkModel):
        _framework_name = "python"

    class Script(Framework):
        _framework_name = "python"
        model_cls = ScriptModel

    code = work / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    (code / "inference.py").write_text(INFERENCE)
    venvs.framework_python("python", "3.11")  # built once, before anything is timed
    session = LocalSession(backend="process")
    return cycles(lambda: Script("train.py", source_dir=str(code), framework_version="3.11", instance_type="local",
                                 instance_count=1, sagemaker_session=session, output_path=f"file://{work}/process"),
                  lambda estimator: estimator.create_model(entry_point="inference.py", source_dir=str(code)),
                  data, repeat, predicts)


def sagemaker_v2(image, data, out, repeat, predicts, work):
    from _peers import peer_env, sagemaker_v2_python

    if not shutil.which("docker-compose"):
        raise SystemExit("the SageMaker SDK's local mode needs docker-compose: apt-get install docker-compose "
                         "(or run with --skip-sagemaker)")
    config = work / "sagemaker-config.yaml"
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    env = dict(peer_env(), AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="benchmark",
               AWS_SECRET_ACCESS_KEY="benchmark", AWS_EC2_METADATA_DISABLED="true",
               SAGEMAKER_USER_CONFIG_OVERRIDE=str(config), SAGEMAKER_ADMIN_CONFIG_OVERRIDE=str(config))
    script = work / "sagemaker_v2_local.py"
    script.write_text(SAGEMAKER_SCRIPT)
    scratch = work / "sagemaker-tmp"  # its per-job temporary folders land here and go with `work`
    scratch.mkdir()
    env["TMPDIR"] = str(scratch)
    try:
        done = subprocess.run([sagemaker_v2_python(), str(script), image, str(data), f"{out}/sagemaker",
                               str(repeat), str(predicts)], env=env, cwd=work, capture_output=True, text=True,
                              timeout=1800)
    finally:
        left = remove_stopped_containers(image)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            result["left"] = left
            return result
    errors = [line for line in done.stderr.splitlines() if "RootlessDocker not detected" not in line]
    raise SystemExit(f"the SageMaker SDK run failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n"
                     + "\n".join(errors[-40:]))


def remove_stopped_containers(image):
    """Remove the stopped containers the SageMaker SDK left from ``image``; returns how many there were."""
    import docker

    client = docker.from_env()
    left = client.containers.list(all=True, filters={"ancestor": image, "status": ["exited", "created"]})
    for container in left:
        container.remove()
    return len(left)


def median(values):
    return statistics.median(values) if values else float("nan")


def show(value, metric):
    return f"{value * 1000:8.2f} ms" if metric == "predict" else f"{value:8.3f} s "


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="fit/deploy/delete cycles per SDK (medians)")
    parser.add_argument("--predicts", type=int, default=200, help="predict() calls per cycle")
    parser.add_argument("--skip-sagemaker", action="store_true")
    parser.add_argument("--skip-process", action="store_true")
    args = parser.parse_args()

    image = build_image()
    with tempfile.TemporaryDirectory(prefix="fsdk-bench-local-") as folder:
        work = Path(folder)
        data = work / "data"
        data.mkdir()
        (data / "train.csv").write_text("".join(f"{a / 10},{a % 3},{2 * a / 10 + 3 * (a % 3)}\n" for a in range(200)))
        results = {"ours (docker)": ours_docker(image, data, work, args.repeat, args.predicts)}
        if not args.skip_process:
            results["ours (process)"] = ours_process(work, data, args.repeat, args.predicts)
        if not args.skip_sagemaker:
            results["SageMaker v2 (docker)"] = sagemaker_v2(image, data, work, args.repeat, args.predicts, work)

    print(f"\nlocal mode, image {image}, {args.repeat} cycles, {args.predicts} one-row CSV predicts each (medians)")
    names = list(results)
    print(f"{'metric':<30}" + "".join(f"{name:>24}" for name in names))
    labels = {"fit": "fit()", "deploy": "deploy() -> first predict()", "predict": "predict() latency",
              "delete": "delete_endpoint()"}
    for metric, label in labels.items():
        print(f"{label:<30}" + "".join(f"{show(median(results[name][metric]), metric):>24}" for name in names))
    peer = results.get("SageMaker v2 (docker)")
    if peer:
        print("\nratio SageMaker v2 / ours (docker): how many times faster we are")
        for metric, label in labels.items():
            ratio = median(peer[metric]) / median(results["ours (docker)"][metric])
            print(f"  {label:<30}{ratio:8.1f}x   target: {TARGETS['docker'][metric] or '-'}")
    if peer:
        print(f"  SageMaker v2 left {peer['left']} stopped containers behind (removed by this script); ours none")
    if "ours (process)" in results:
        print("\nprocess backend targets: " + ", ".join(
            f"{labels[m]} {TARGETS['process'][m]} (measured {show(median(results['ours (process)'][m]), m).strip()})"
            for m in ("fit", "deploy")))


if __name__ == "__main__":
    main()
