#!/usr/bin/env python3
"""The latency `framework-sdk api` adds: the same calls through the server and on the local clients directly.

    .venv/bin/python benchmarks/api_server.py [--calls 300]

One run, the process backend, one small least-squares model (the python framework environment):
``DescribeTrainingJob`` of a completed job and ``InvokeEndpoint`` of a one-row CSV request, first on
a LocalSession's clients in this process, then with boto3 through a `framework-sdk api` child
process on a free loopback port (``AWS_ENDPOINT_URL``). Prints the median and p90 of each, the
added latency (server - direct, medians) and the ratio.
"""
import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

TRAIN = '''
import os
import numpy as np
rows = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",", ndmin=2)
np.save(os.path.join(os.environ["SM_MODEL_DIR"], "weights.npy"), np.linalg.lstsq(rows[:, :-1], rows[:, -1], rcond=None)[0])
'''
INFERENCE = '''
import os
import numpy as np

def model_fn(model_dir):
    return np.load(os.path.join(model_dir, "weights.npy"))

def predict_fn(data, model):
    return np.asarray(data, dtype=float).reshape(-1, len(model)) @ model
'''
IMAGE = "framework-sdk-python:3.11-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/benchmark"
ROWS = "".join(f"{a / 10},{a % 3},{2 * a / 10 + 3 * (a % 3)}\n" for a in range(30))


def timed(call, count):
    call()  # warm: connections, pools
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def direct(work, calls):
    """The local clients of a LocalSession, in this process."""
    from framework_sdk import LocalSession

    session = LocalSession(backend="process")
    try:
        sagemaker, runtime = session.sagemaker_client, session.sagemaker_runtime_client
        sagemaker.create_training_job(**training_request("bench-direct", f"file://{work}/data",
                                                         f"file://{work}/code", f"file://{work}/models"))
        session.wait_for_job("bench-direct")
        artifacts = sagemaker.describe_training_job(TrainingJobName="bench-direct")["ModelArtifacts"]
        describe = timed(lambda: sagemaker.describe_training_job(TrainingJobName="bench-direct"), calls)
        deploy(sagemaker, "bench-direct", artifacts["S3ModelArtifacts"], f"file://{work}/code")
        session.wait_for_endpoint("bench-direct")
        invoke = timed(lambda: runtime.invoke_endpoint(EndpointName="bench-direct", Body=b"1,1\n",
                                                       ContentType="text/csv")["Body"].read(), calls)
        sagemaker.delete_endpoint(EndpointName="bench-direct")
        return describe, invoke
    finally:
        session.close()


def through_server(work, calls):
    """boto3 through a `framework-sdk api` child process."""
    import boto3

    server = subprocess.Popen([sys.executable, "-m", "framework_sdk.cli", "api", "--port", "0", "--state-dir",
                               str(work / "state"), "--backend", "process"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    try:
        url = server.stdout.readline().decode().strip()
        session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
        s3, sagemaker, runtime = (session.client(name, endpoint_url=url)
                                  for name in ("s3", "sagemaker", "sagemaker-runtime"))
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="data/train.csv", Body=ROWS.encode())
        s3.put_object(Bucket="bench", Key="code/sourcedir.tar.gz", Body=sourcedir())
        code = "s3://bench/code/sourcedir.tar.gz"
        sagemaker.create_training_job(**training_request("bench-server", "s3://bench/data/", code, "s3://bench/models"))
        sagemaker.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="bench-server",
                                                                       WaiterConfig={"Delay": 1})
        artifacts = sagemaker.describe_training_job(TrainingJobName="bench-server")["ModelArtifacts"]
        describe = timed(lambda: sagemaker.describe_training_job(TrainingJobName="bench-server"), calls)
        deploy(sagemaker, "bench-server", artifacts["S3ModelArtifacts"], code)
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="bench-server", WaiterConfig={"Delay": 1})
        invoke = timed(lambda: runtime.invoke_endpoint(EndpointName="bench-server", Body=b"1,1\n",
                                                       ContentType="text/csv")["Body"].read(), calls)
        sagemaker.delete_endpoint(EndpointName="bench-server")
        return describe, invoke
    finally:
        server.terminate()
        server.wait(60)


def training_request(name, data, code, output):
    return {"TrainingJobName": name, "RoleArn": ROLE,
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "HyperParameters": {"sagemaker_program": json.dumps("train.py"),
                                "sagemaker_submit_directory": json.dumps(code)},
            "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": data}}}],
            "OutputDataConfig": {"S3OutputPath": output},
            "ResourceConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600}}


def deploy(sagemaker, name, model_data, code):
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": model_data,
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": code}})
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.c5.xlarge"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)


def sourcedir():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in (("train.py", TRAIN), ("inference.py", INFERENCE)):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls timed per operation and path")
    options = parser.parse_args()
    from framework_sdk import venvs

    venvs.framework_python("python", "3.11")  # built (or reused) outside any timing
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        work = Path(folder)
        (work / "data").mkdir()
        (work / "data" / "train.csv").write_text(ROWS)
        (work / "code").mkdir()
        (work / "code" / "train.py").write_text(TRAIN)
        (work / "code" / "inference.py").write_text(INFERENCE)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        results = {"direct": direct(work, options.calls), "server": through_server(work, options.calls)}
    print(f"{'operation':<22}{'direct median/p90 ms':>24}{'server median/p90 ms':>24}{'added ms':>10}{'ratio':>8}")
    for index, operation in enumerate(("DescribeTrainingJob", "InvokeEndpoint")):
        (d50, d90), (s50, s90) = results["direct"][index], results["server"][index]
        print(f"{operation:<22}{d50:>13.3f} / {d90:<8.3f}{s50:>13.3f} / {s90:<8.3f}{s50 - d50:>10.2f}"
              f"{s50 / d50:>7.1f}x")


if __name__ == "__main__":
    main()
