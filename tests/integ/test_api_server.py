"""`framework-sdk api`: boto3, the AWS CLI and our AWS-mode Session run real local jobs through it.

Each test module starts the server as a child process (`framework-sdk api --port 0`, loopback, the
process backend) with its own state dir, and points clients at it with ``AWS_ENDPOINT_URL``.
"""
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

IMAGE = "framework-sdk-python:3.11-cpu-py3"  # the process backend's cached python framework environment
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "api-server-test"

TRAIN = '''
import json, os
import numpy as np
print("training on", os.environ["SM_CURRENT_HOST"], "with", json.loads(os.environ["SM_HPS"]), flush=True)
rows = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",", ndmin=2)
weights = np.linalg.lstsq(rows[:, :-1], rows[:, -1], rcond=None)[0]
np.save(os.path.join(os.environ["SM_MODEL_DIR"], "weights.npy"), weights)
print("weights", weights.round(3).tolist(), flush=True)
'''
INFERENCE = '''
import os
import numpy as np

def model_fn(model_dir):
    return np.load(os.path.join(model_dir, "weights.npy"))

def predict_fn(data, model):
    return np.asarray(data, dtype=float).reshape(-1, len(model)) @ model
'''


class ApiServer:
    """A `framework-sdk api` child process; ``url`` once it answers."""

    def __init__(self, state_dir, backend="process", extra=(), env=None):
        self.state_dir = state_dir
        self.env = env
        self.backend = backend
        self.extra = list(extra)
        self.process = None
        self.url = None

    def start(self, timeout=60):
        command = [sys.executable, "-m", "framework_sdk.cli", "api", "--port", "0", "--state-dir",
                   str(self.state_dir), "--backend", self.backend, *self.extra]
        self.log = open(self.state_dir.parent / f"{self.state_dir.name}-server.log", "ab")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log, start_new_session=True,
                                        env=self.env)
        line = self.process.stdout.readline().decode().strip()  # the URL, printed once the server answers
        assert line.startswith("http://127.0.0.1:"), (line, self.read_log())
        self.url = line
        return self

    def read_log(self):
        if not self.log.closed:
            self.log.flush()
        return (self.state_dir.parent / f"{self.state_dir.name}-server.log").read_text(errors="replace")

    def stop(self, timeout=60):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


def environment(url):
    return {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-west-2"}


@pytest.fixture(scope="module")
def framework_python():
    from framework_sdk import venvs

    return venvs.framework_python("python", "3.11")


@pytest.fixture(scope="module")
def server(tmp_path_factory, framework_python):
    state = tmp_path_factory.mktemp("api") / "state"
    # The engine's tuning job records (XDG_STATE_HOME) go to this module's own folder, not the user's.
    running = ApiServer(state, env=dict(os.environ, XDG_STATE_HOME=str(state.parent / "xdg-state"))).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def aws(server):
    """A boto3 session pointed at the server, as `AWS_ENDPOINT_URL` points every client."""
    import boto3

    saved = {key: os.environ.get(key) for key in environment(server.url)}
    os.environ.update(environment(server.url))
    yield boto3.Session()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def sourcedir(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def training_request(name, **overrides):
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": {"sagemaker_program": json.dumps("train.py"),
                            "sagemaker_submit_directory": json.dumps(f"s3://{BUCKET}/code/sourcedir.tar.gz")},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/", "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
        "ResourceConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    request.update(overrides)
    return request


@pytest.fixture(scope="module")
def uploaded(aws):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    rows = "".join(f"{a / 10},{a % 3},{2 * a / 10 + 3 * (a % 3)}\n" for a in range(30))  # y = 2 x0 + 3 x1
    s3.put_object(Bucket=BUCKET, Key="data/train.csv", Body=rows.encode())
    s3.put_object(Bucket=BUCKET, Key="code/sourcedir.tar.gz",
                  Body=sourcedir({"train.py": TRAIN, "inference.py": INFERENCE}))
    return s3


@pytest.fixture(scope="module")
def trained(aws, uploaded):
    sagemaker = aws.client("sagemaker")
    sagemaker.create_training_job(**training_request("api-train-1"))
    sagemaker.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="api-train-1", WaiterConfig={"Delay": 1, "MaxAttempts": 600})
    return sagemaker.describe_training_job(TrainingJobName="api-train-1")


def test_boto3_trains_reads_logs_and_downloads_the_model(aws, trained, uploaded):
    assert trained["TrainingJobStatus"] == "Completed", trained.get("FailureReason")
    artifacts = trained["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifacts == f"s3://{BUCKET}/models/api-train-1/output/model.tar.gz"
    body = uploaded.get_object(Bucket=BUCKET, Key="models/api-train-1/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        weights = np.load(io.BytesIO(archive.extractfile("weights.npy").read()))
    assert weights == pytest.approx([2.0, 3.0])

    logs = aws.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix="api-train-1/")["logStreams"]
    assert [s["logStreamName"].rsplit("-", 1)[0] for s in streams] == ["api-train-1/algo-1"]
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=streams[0]["logStreamName"],
                                 startFromHead=True)
    messages = [event["message"] for event in events["events"]]
    assert any(m.startswith("training on algo-1 with") for m in messages), messages
    assert "weights [2.0, 3.0]" in messages
    again = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                logStreamName=streams[0]["logStreamName"], nextToken=events["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == events["nextForwardToken"]


def test_boto3_deploys_invokes_transforms_and_deletes(aws, trained, uploaded):
    sagemaker, runtime = aws.client("sagemaker"), aws.client("sagemaker-runtime")
    code = f"s3://{BUCKET}/code/sourcedir.tar.gz"
    sagemaker.create_model(ModelName="api-model", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": code}})
    sagemaker.create_endpoint_config(EndpointConfigName="api-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "api-model", "InitialInstanceCount": 1,
        "InstanceType": "ml.c5.xlarge"}])
    sagemaker.create_endpoint(EndpointName="api-endpoint", EndpointConfigName="api-config")
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="api-endpoint",
                                                     WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    buffer = io.BytesIO()
    np.save(buffer, np.array([[1.0, 1.0], [0.0, 2.0]]))
    answer = runtime.invoke_endpoint(EndpointName="api-endpoint", Body=buffer.getvalue(),
                                     ContentType="application/x-npy", Accept="application/json",
                                     CustomAttributes="trace=1")
    assert answer["ContentType"] == "application/json"
    assert json.loads(answer["Body"].read()) == pytest.approx([5.0, 6.0])
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as failure:
        runtime.invoke_endpoint(EndpointName="api-endpoint", Body=b"not,numbers", ContentType="text/csv")
    assert failure.value.response["Error"]["Code"] == "ModelError"
    with pytest.raises(ClientError) as failure:
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", Body=b"1", ContentType="text/csv")
    assert failure.value.response["Error"]["Code"] == "ValidationException"
    assert [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]] == ["api-endpoint"]
    group = "/aws/sagemaker/Endpoints/api-endpoint"
    streams = aws.client("logs").describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["AllTraffic/algo-1"]

    uploaded.put_object(Bucket=BUCKET, Key="batch/rows.csv", Body="".join(f"{i},1\n" for i in range(20)).encode())
    sagemaker.create_transform_job(
        TransformJobName="api-transform", ModelName="api-model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/predictions", "Accept": "text/csv", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.c5.xlarge", "InstanceCount": 1})
    sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
        TransformJobName="api-transform", WaiterConfig={"Delay": 1, "MaxAttempts": 600})
    described = sagemaker.describe_transform_job(TransformJobName="api-transform")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    output = uploaded.get_object(Bucket=BUCKET, Key="predictions/rows.csv.out")["Body"].read().decode()
    assert [float(v) for v in output.split()] == pytest.approx([2 * i + 3 for i in range(20)])

    sagemaker.delete_endpoint(EndpointName="api-endpoint")
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName="api-endpoint", WaiterConfig={"Delay": 1})
    sagemaker.delete_endpoint_config(EndpointConfigName="api-config")
    sagemaker.delete_model(ModelName="api-model")
    assert sagemaker.list_models()["Models"] == []
    with pytest.raises(ClientError, match="ValidationException"):
        sagemaker.describe_model(ModelName="api-model")


PROCESS = """
import argparse, json, os, signal, sys, time
parser = argparse.ArgumentParser()
parser.add_argument("--scale", type=float, default=1.0)
parser.add_argument("--mode", default="ok")
args = parser.parse_args()
if args.mode == "fail":
    sys.exit("this mode fails on purpose")
if args.mode == "sleep":  # ends 3 s after SIGTERM, as a script that cleans up before it exits
    signal.signal(signal.SIGTERM, lambda *_: (time.sleep(3), sys.exit(128 + signal.SIGTERM)))
    print("sleeping until stopped", flush=True)
    time.sleep(300)
rows = [[float(v) for v in line.split(",")] for line in open("/opt/ml/processing/input/rows/train.csv")]
print("processing", len(rows), "rows on", json.load(open("/opt/ml/config/resourceconfig.json"))["current_host"],
      flush=True)
totals = [args.scale * sum(row[i] for row in rows) for i in range(len(rows[0]))]
json.dump({"rows": len(rows), "totals": totals}, open("/opt/ml/processing/output/summary.json", "w"))
"""


def processing_request(name, *arguments):
    """A ScriptProcessor's request as SageMaker v2 makes it: the script as the input ``code``, run by python3."""
    return {
        "ProcessingJobName": name, "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": IMAGE, "ContainerArguments": list(arguments),
                             "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/process.py"]},
        "ProcessingInputs": [
            {"InputName": "rows", "S3Input": {"S3Uri": f"s3://{BUCKET}/data/", "LocalPath": "/opt/ml/processing/input/rows",
                                             "S3DataType": "S3Prefix", "S3InputMode": "File"}},
            {"InputName": "code", "S3Input": {"S3Uri": f"s3://{BUCKET}/processing/code/process.py",
                                             "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix",
                                             "S3InputMode": "File"}}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "summary", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/processed/{name}", "LocalPath": "/opt/ml/processing/output",
            "S3UploadMode": "EndOfJob"}}]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.c5.xlarge",
                                                  "VolumeSizeInGB": 10}},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def test_boto3_runs_processing_jobs_from_s3_to_s3_lists_logs_and_stops_them(aws, uploaded):
    from botocore.exceptions import ClientError, WaiterError

    sagemaker, logs = aws.client("sagemaker"), aws.client("logs")
    uploaded.put_object(Bucket=BUCKET, Key="processing/code/process.py", Body=PROCESS.encode())
    waiter = sagemaker.get_waiter("processing_job_completed_or_stopped")
    sagemaker.create_processing_job(**processing_request("api-process", "--scale", "2"))
    waiter.wait(ProcessingJobName="api-process", WaiterConfig={"Delay": 1, "MaxAttempts": 600})
    described = sagemaker.describe_processing_job(ProcessingJobName="api-process")
    assert described["ProcessingJobStatus"] == "Completed", described.get("FailureReason")
    assert described["ProcessingJobArn"].endswith(":processing-job/api-process")
    body = uploaded.get_object(Bucket=BUCKET, Key="processed/api-process/summary.json")["Body"].read()
    rows = [[a / 10, a % 3, 2 * a / 10 + 3 * (a % 3)] for a in range(30)]  # the `uploaded` fixture's rows
    assert json.loads(body) == {"rows": 30, "totals": pytest.approx([2 * sum(c) for c in zip(*rows)])}
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs",
                                        logStreamNamePrefix="api-process/")["logStreams"]
    assert [s["logStreamName"].rsplit("-", 1)[0] for s in streams] == ["api-process/algo-1"]
    events = logs.get_log_events(logGroupName="/aws/sagemaker/ProcessingJobs",
                                 logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]
    assert "processing 30 rows on algo-1" in [event["message"] for event in events]

    sagemaker.create_processing_job(**processing_request("api-process-fails", "--mode", "fail"))
    with pytest.raises(WaiterError):  # Failed is the waiter's failure state
        waiter.wait(ProcessingJobName="api-process-fails", WaiterConfig={"Delay": 1, "MaxAttempts": 600})
    failed = sagemaker.describe_processing_job(ProcessingJobName="api-process-fails")
    assert failed["ProcessingJobStatus"] == "Failed" and "fails on purpose" in failed["FailureReason"]

    sagemaker.create_processing_job(**processing_request("api-process-sleeps", "--mode", "sleep"))
    while "sleeping until stopped" not in [e["message"] for e in logs.filter_log_events(
            logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix="api-process-sleeps/")["events"]]:
        time.sleep(0.2)
    started = time.monotonic()
    sagemaker.stop_processing_job(ProcessingJobName="api-process-sleeps")  # answers at once, as SageMaker's
    assert time.monotonic() - started < 2
    assert sagemaker.describe_processing_job(ProcessingJobName="api-process-sleeps")["ProcessingJobStatus"] == "Stopping"
    waiter.wait(ProcessingJobName="api-process-sleeps", WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    assert sagemaker.describe_processing_job(ProcessingJobName="api-process-sleeps")["ProcessingJobStatus"] == "Stopped"

    first = sagemaker.list_processing_jobs(NameContains="api-process", SortBy="Name", SortOrder="Ascending",
                                           MaxResults=2)
    assert [j["ProcessingJobName"] for j in first["ProcessingJobSummaries"]] == ["api-process", "api-process-fails"]
    rest = sagemaker.list_processing_jobs(NameContains="api-process", SortBy="Name", SortOrder="Ascending",
                                          MaxResults=2, NextToken=first["NextToken"])
    assert [j["ProcessingJobName"] for j in rest["ProcessingJobSummaries"]] == ["api-process-sleeps"]
    assert "NextToken" not in rest
    failed_only = sagemaker.list_processing_jobs(StatusEquals="Failed")["ProcessingJobSummaries"]
    assert [(j["ProcessingJobName"], j["ProcessingJobStatus"]) for j in failed_only] == [("api-process-fails", "Failed")]
    with pytest.raises(ClientError) as duplicate:
        sagemaker.create_processing_job(**processing_request("api-process", "--scale", "1"))
    assert duplicate.value.response["Error"]["Code"] == "ResourceInUse", duplicate.value.response["Error"]
    with pytest.raises(ClientError) as missing:
        sagemaker.describe_processing_job(ProcessingJobName="no-such-processing-job")
    assert missing.value.response["Error"]["Code"] == "ValidationException"


TUNE = """
import json, os
x = float(json.loads(os.environ["SM_HPS"])["x"])
for epoch in range(1, 4):
    print(f"epoch {epoch} accuracy={x * epoch / 3:.6f}", flush=True)
open(os.path.join(os.environ["SM_MODEL_DIR"], "x.txt"), "w").write(str(x))
"""


def tuning_request(name, trials):
    """A random search over ``x`` in [0.1, 0.9] with the TUNE script (``tune.tar.gz`` in the bucket)."""
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random", "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"ContinuousParameterRanges": [
                {"Name": "x", "MinValue": "0.1", "MaxValue": "0.9", "ScalingType": "Linear"}]}},
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"sagemaker_program": json.dumps("tune.py"),
                                      "sagemaker_submit_directory": json.dumps(f"s3://{BUCKET}/code/tune.tar.gz")},
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File", "MetricDefinitions": [
                {"Name": "accuracy", "Regex": r"accuracy=([0-9.]+)"}]},
            "RoleArn": ROLE, "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/tuned"},
            "ResourceConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600}},
    }


def wait_for_tuning_job(sagemaker, name, timeout=600):
    """boto3 has no tuning waiter: poll as the SDKs do."""
    deadline = time.monotonic() + timeout
    while (described := sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name))[
            "HyperParameterTuningJobStatus"] in ("InProgress", "Stopping") and time.monotonic() < deadline:
        time.sleep(1)
    return described


def test_boto3_tunes_with_local_training_jobs_and_describes_the_best(aws, uploaded):
    from botocore.exceptions import ClientError

    sagemaker = aws.client("sagemaker")
    uploaded.put_object(Bucket=BUCKET, Key="code/tune.tar.gz", Body=sourcedir({"tune.py": TUNE}))
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request("api-tune", trials=3))
    described = wait_for_tuning_job(sagemaker, "api-tune")
    assert described["HyperParameterTuningJobStatus"] == "Completed", described.get("FailureReason")
    assert described["TrainingJobStatusCounters"]["Completed"] == 3

    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="api-tune", SortBy="FinalObjectiveMetricValue", SortOrder="Descending",
        MaxResults=2)
    rest = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="api-tune", SortBy="FinalObjectiveMetricValue", SortOrder="Descending",
        MaxResults=2, NextToken=trials["NextToken"])
    summaries = trials["TrainingJobSummaries"] + rest["TrainingJobSummaries"]
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert len(values) == 3 and values == sorted(values, reverse=True)
    for summary in summaries:  # each trial's objective is its x, as its script logged it
        assert summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(
            float(summary["TunedHyperParameters"]["x"]), abs=1e-5)
    best = described["BestTrainingJob"]
    assert best["TrainingJobName"] == summaries[0]["TrainingJobName"] and best["TrainingJobName"].startswith("api-tune-")
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {"Type": "Maximize", "MetricName": "accuracy",
                                                                   "Value": pytest.approx(values[0])}

    # The trials are training jobs like any other: listed, described, logged, their models in S3.
    listed = sagemaker.list_training_jobs(NameContains="api-tune-", MaxResults=10)["TrainingJobSummaries"]
    assert sorted(j["TrainingJobName"] for j in listed) == sorted(s["TrainingJobName"] for s in summaries)
    job = sagemaker.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert job["TrainingJobStatus"] == "Completed"
    key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{BUCKET}/")
    with tarfile.open(fileobj=io.BytesIO(uploaded.get_object(Bucket=BUCKET, Key=key)["Body"].read())) as archive:
        assert float(archive.extractfile("x.txt").read()) == pytest.approx(float(best["TunedHyperParameters"]["x"]))
    logs = aws.client("logs")
    stream = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                       logStreamNamePrefix=best["TrainingJobName"] + "/")["logStreams"][0]
    messages = [e["message"] for e in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                                          logStreamName=stream["logStreamName"],
                                                          startFromHead=True)["events"]]
    assert any(m.startswith("epoch 3 accuracy=") for m in messages), messages

    tuning_jobs = sagemaker.list_hyper_parameter_tuning_jobs(NameContains="api-tune")
    assert [(j["HyperParameterTuningJobName"], j["Strategy"], j["HyperParameterTuningJobStatus"])
            for j in tuning_jobs["HyperParameterTuningJobSummaries"]] == [("api-tune", "Random", "Completed")]
    with pytest.raises(ClientError) as missing:
        sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="no-such-tuning-job")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as unsorted:  # botocore does not check enums: the server does
        sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="api-tune",
                                                                    SortBy="Bogus")
    assert unsorted.value.response["Error"]["Code"] == "ValidationException"


def test_lists_page_with_next_token_and_filter(aws, server):
    sagemaker = aws.client("sagemaker")
    names = [f"paged-model-{i}" for i in range(5)]
    for name in names:
        sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    try:
        first = sagemaker.list_models(NameContains="paged-model", MaxResults=2, SortBy="Name", SortOrder="Ascending")
        assert [m["ModelName"] for m in first["Models"]] == names[:2] and first["NextToken"]
        pages = sagemaker.get_paginator("list_models").paginate(NameContains="paged-model", SortBy="Name",
                                                                 SortOrder="Descending",
                                                                 PaginationConfig={"PageSize": 2})
        assert [m["ModelName"] for page in pages for m in page["Models"]] == names[::-1]
        assert sagemaker.list_models(NameContains="nothing-like-this")["Models"] == []
        from botocore.exceptions import ClientError

        with pytest.raises(ClientError, match="NextToken"):
            sagemaker.list_models(NextToken="not-a-token")
        with pytest.raises(ClientError) as failure:
            sagemaker.create_model(ModelName=names[0], ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "other"})
        assert failure.value.response["Error"]["Code"] == "ValidationException"
    finally:
        for name in names:
            sagemaker.delete_model(ModelName=name)


def raw_request(url, body=b"", headers=None, method="POST", path="/"):
    request = urllib.request.Request(url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_malformed_requests_get_4xx_and_the_server_keeps_serving(aws, server):
    import random

    json_11 = "application/x-amz-json-1.1"
    random.seed(17)
    cases = [
        ({"X-Amz-Target": "SageMaker.CreateModel", "Content-Type": json_11}, b"{not json"),
        ({"X-Amz-Target": "SageMaker.CreateModel", "Content-Type": json_11}, b"[1, 2, 3]"),
        ({"X-Amz-Target": "SageMaker.CreateModel", "Content-Type": json_11}, b'{"ModelName": "m", "Bogus": 1}'),
        ({"X-Amz-Target": "SageMaker.CreateModel", "Content-Type": json_11}, b'{"ModelName": 7}'),
        ({"X-Amz-Target": "SageMaker.DescribeTrainingJob", "Content-Type": json_11}, b"{}"),
        ({"X-Amz-Target": "SageMaker.NoSuchOperation", "Content-Type": json_11}, b"{}"),
        ({"X-Amz-Target": "Nonsense", "Content-Type": json_11}, b"{}"),
        ({"Content-Type": json_11}, b'{"TrainingJobName": "x"}'),
        ({"X-Amz-Target": "SageMaker.ListModels", "Content-Type": json_11}, b"{" + b" " * (6 * 1024 * 1024) + b"}"),
        ({"X-Amz-Target": "Logs_20140328.GetLogEvents", "Content-Type": json_11}, b'{"logStreamName": "x"}'),
        ({"Content-Type": "text/csv"}, b"1,2", "/endpoints/%2e%2e/invocations"),
    ]
    for _ in range(20):  # random JSON documents of random operations
        operation = random.choice(["CreateTrainingJob", "CreateEndpoint", "ListTrainingJobs", "StopTransformJob"])
        document = {random.choice(["TrainingJobName", "MaxResults", "x", ""]): random.choice([None, 1, "a", [], {}])
                    for _ in range(random.randint(1, 4))}
        cases.append(({"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": json_11},
                      json.dumps(document).encode()))
    for headers, body, *path in cases:
        status, answer = raw_request(server.url, body, headers, path=path[0] if path else "/")
        assert 400 <= status < 500, (headers, body[:80], status, answer[:300])
        if headers.get("Content-Type") == json_11:
            assert json.loads(answer)["__type"], answer
    # An unknown field, as SageMaker reports it.
    status, answer = raw_request(server.url, b'{"ModelName": "m", "PrimaryContainer": {"Image": "i"}, "Bogus": 1}',
                                 {"X-Amz-Target": "SageMaker.CreateModel", "Content-Type": json_11})
    error = json.loads(answer)
    assert (status, error["__type"]) == (400, "ValidationException")
    assert error["message"].startswith("1 validation error detected: Value at 'bogus' failed to satisfy constraint")
    from botocore.exceptions import ClientError

    outside = training_request("reads-etc", InputDataConfig=[{"ChannelName": "train", "DataSource": {
        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file:///etc"}}}])  # local mode reads file:// S3Uris
    with pytest.raises(ClientError, match="file:///etc lies outside the paths this server may read"):
        aws.client("sagemaker").create_training_job(**outside)
    assert aws.client("sagemaker").list_training_jobs()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert server.process.poll() is None


def test_completed_jobs_objects_and_endpoints_survive_a_restart(tmp_path, framework_python):
    import boto3

    first = ApiServer(tmp_path / "state").start()
    try:
        session = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
        clients = {name: session.client(name, endpoint_url=first.url) for name in ("s3", "sagemaker")}
        clients["s3"].create_bucket(Bucket=BUCKET)
        clients["s3"].put_object(Bucket=BUCKET, Key="data/train.csv", Body=b"1,0,2\n0,1,3\n1,1,5\n",
                                 Metadata={"owner": "test"}, ContentType="text/csv")
        clients["s3"].put_object(Bucket=BUCKET, Key="code/sourcedir.tar.gz",
                                 Body=sourcedir({"train.py": TRAIN, "inference.py": INFERENCE}))
        clients["sagemaker"].create_training_job(**training_request("kept-job"))
        clients["sagemaker"].get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="kept-job", WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        artifacts = clients["sagemaker"].describe_training_job(TrainingJobName="kept-job")["ModelArtifacts"]
        clients["sagemaker"].create_model(ModelName="kept-model", ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": IMAGE, "ModelDataUrl": artifacts["S3ModelArtifacts"],
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py",
                            "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/code/sourcedir.tar.gz"}})
        clients["sagemaker"].create_endpoint_config(EndpointConfigName="kept-config", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "kept-model", "InitialInstanceCount": 1,
            "InstanceType": "ml.c5.xlarge"}])
        clients["sagemaker"].create_endpoint(EndpointName="kept-endpoint", EndpointConfigName="kept-config")
        clients["sagemaker"].get_waiter("endpoint_in_service").wait(EndpointName="kept-endpoint",
                                                                    WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        # A second server on the same state dir refuses, naming the first.
        second = subprocess.run([sys.executable, "-m", "framework_sdk.cli", "api", "--port", "0", "--state-dir",
                                 str(tmp_path / "state"), "--backend", "process"], capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 1
        assert f"in use by another framework-sdk api server (process {first.process.pid})" in second.stderr
    finally:
        first.stop()
    assert first.process.returncode == 0, first.read_log()

    again = ApiServer(tmp_path / "state").start()
    try:
        clients = {name: session.client(name, endpoint_url=again.url)
                   for name in ("s3", "sagemaker", "sagemaker-runtime", "logs")}
        kept = clients["s3"].get_object(Bucket=BUCKET, Key="data/train.csv")
        assert kept["Body"].read() == b"1,0,2\n0,1,3\n1,1,5\n"
        assert kept["Metadata"] == {"owner": "test"} and kept["ContentType"] == "text/csv"
        job = clients["sagemaker"].describe_training_job(TrainingJobName="kept-job")
        assert job["TrainingJobStatus"] == "Completed" and job["ModelArtifacts"] == artifacts
        listed = clients["sagemaker"].list_training_jobs(StatusEquals="Completed")["TrainingJobSummaries"]
        assert [j["TrainingJobName"] for j in listed] == ["kept-job"]
        events = clients["logs"].filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                                   logStreamNamePrefix="kept-job/")["events"]
        assert any(e["message"].startswith("weights") for e in events)
        clients["sagemaker"].get_waiter("endpoint_in_service").wait(EndpointName="kept-endpoint",
                                                                    WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        answer = clients["sagemaker-runtime"].invoke_endpoint(EndpointName="kept-endpoint", Body=b"1,1\n",
                                                              ContentType="text/csv", Accept="application/json")
        assert json.loads(answer["Body"].read()) == pytest.approx([5.0])
        clients["sagemaker"].delete_endpoint(EndpointName="kept-endpoint")
    finally:
        again.stop()


def test_processing_and_tuning_jobs_survive_a_restart(tmp_path, framework_python):
    import boto3

    environment = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "xdg-state"))
    session = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    first = ApiServer(tmp_path / "state", env=environment).start()
    try:
        s3, sagemaker = (session.client(name, endpoint_url=first.url) for name in ("s3", "sagemaker"))
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="data/train.csv", Body=b"1,0,2\n0,1,3\n1,1,5\n")
        s3.put_object(Bucket=BUCKET, Key="processing/code/process.py", Body=PROCESS.encode())
        s3.put_object(Bucket=BUCKET, Key="code/tune.tar.gz", Body=sourcedir({"tune.py": TUNE}))
        sagemaker.create_processing_job(**processing_request("kept-process", "--scale", "1"))
        sagemaker.create_hyper_parameter_tuning_job(**tuning_request("kept-tune", trials=2))
        sagemaker.get_waiter("processing_job_completed_or_stopped").wait(
            ProcessingJobName="kept-process", WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        before = wait_for_tuning_job(sagemaker, "kept-tune")
        assert before["HyperParameterTuningJobStatus"] == "Completed", before.get("FailureReason")
    finally:
        first.stop()

    again = ApiServer(tmp_path / "state", env=environment).start()
    try:
        sagemaker, logs = (session.client(name, endpoint_url=again.url) for name in ("sagemaker", "logs"))
        assert sagemaker.describe_processing_job(ProcessingJobName="kept-process")["ProcessingJobStatus"] == "Completed"
        listed = sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
        assert [(j["ProcessingJobName"], j["ProcessingJobStatus"]) for j in listed] == [("kept-process", "Completed")]
        events = logs.filter_log_events(logGroupName="/aws/sagemaker/ProcessingJobs",
                                        logStreamNamePrefix="kept-process/")["events"]
        assert "processing 3 rows on algo-1" in [e["message"] for e in events]
        after = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="kept-tune")
        assert after["HyperParameterTuningJobStatus"] == "Completed"
        assert after["BestTrainingJob"]["TrainingJobName"] == before["BestTrainingJob"]["TrainingJobName"]
        trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="kept-tune")
        assert len(trials["TrainingJobSummaries"]) == 2
        assert {t["TrainingJobStatus"] for t in trials["TrainingJobSummaries"]} == {"Completed"}
        best = sagemaker.describe_training_job(TrainingJobName=after["BestTrainingJob"]["TrainingJobName"])
        assert best["TrainingJobStatus"] == "Completed"
        assert [j["HyperParameterTuningJobName"] for j in
                sagemaker.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]] == ["kept-tune"]
        sagemaker.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName="kept-tune")
        assert sagemaker.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []
    finally:
        again.stop()


def aws_cli(server, *arguments, check=True):
    """The AWS CLI v1 (awscli from PyPI, in the test extra) against the server."""
    command = [os.path.join(os.path.dirname(sys.executable), "aws"), *arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, **environment(server.url)})
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_aws_cli_lists_describes_copies_and_invokes(aws, server, trained, uploaded, tmp_path):
    listed = json.loads(aws_cli(server, "sagemaker", "list-training-jobs").stdout)
    assert "api-train-1" in [job["TrainingJobName"] for job in listed["TrainingJobSummaries"]]
    described = json.loads(aws_cli(server, "sagemaker", "describe-training-job", "--training-job-name",
                                   "api-train-1").stdout)
    assert described["TrainingJobStatus"] == "Completed"
    missing = aws_cli(server, "sagemaker", "describe-training-job", "--training-job-name", "nope", check=False)
    assert missing.returncode != 0 and "ValidationException" in missing.stderr

    local = tmp_path / "rows.csv"
    local.write_text("3,1\n")
    aws_cli(server, "s3", "cp", str(local), f"s3://{BUCKET}/cli/rows.csv")
    aws_cli(server, "s3", "cp", f"s3://{BUCKET}/models/api-train-1/output/model.tar.gz", str(tmp_path / "m.tar.gz"))
    with tarfile.open(tmp_path / "m.tar.gz") as archive:
        assert "weights.npy" in archive.getnames()

    sagemaker = aws.client("sagemaker")
    sagemaker.create_model(ModelName="cli-model", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py",
                        "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/code/sourcedir.tar.gz"}})
    sagemaker.create_endpoint_config(EndpointConfigName="cli-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "cli-model", "InitialInstanceCount": 1,
        "InstanceType": "ml.c5.xlarge"}])
    sagemaker.create_endpoint(EndpointName="cli-endpoint", EndpointConfigName="cli-config")
    try:
        aws_cli(server, "sagemaker", "wait", "endpoint-in-service", "--endpoint-name", "cli-endpoint")
        out = tmp_path / "prediction.json"
        aws_cli(server, "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", "cli-endpoint",
                "--content-type", "text/csv", "--accept", "application/json", "--body", "fileb://" + str(local),
                str(out))
        assert json.loads(out.read_text()) == pytest.approx([9.0])
    finally:
        sagemaker.delete_endpoint(EndpointName="cli-endpoint")
        sagemaker.delete_endpoint_config(EndpointConfigName="cli-config")
        sagemaker.delete_model(ModelName="cli-model")


def test_our_sdk_in_aws_mode_trains_deploys_predicts_and_transforms(aws, server, uploaded, tmp_path, capsys):
    import framework_sdk
    from framework_sdk.estimator import Framework
    from framework_sdk.model import FrameworkModel
    from framework_sdk.serializers import CSVDeserializer, CSVSerializer

    class ScriptModel(FrameworkModel):
        _framework_name = "python"

    class Script(Framework):
        _framework_name = "python"
        model_cls = ScriptModel

    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    (code / "inference.py").write_text(INFERENCE)
    session = framework_sdk.Session(boto_session=aws)  # AWS mode: every call goes through the server
    assert not getattr(session, "local_mode", False)
    estimator = Script("train.py", source_dir=str(code), image_uri=IMAGE, framework_version="3.11", role=ROLE,
                       instance_count=1, instance_type="ml.c5.xlarge", sagemaker_session=session,
                       output_path=f"s3://{BUCKET}/sdk-models")
    estimator.fit({"train": f"s3://{BUCKET}/data/"})
    assert "weights [2.0, 3.0]" in capsys.readouterr().out  # the job's log, streamed from the Logs API
    assert estimator.model_data.startswith(f"s3://{BUCKET}/sdk-models/")
    model = estimator.create_model(entry_point="inference.py", source_dir=str(code))
    predictor = model.deploy(initial_instance_count=1, instance_type="ml.c5.xlarge",
                             serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        result = predictor.predict([[1, 1], [0, 2]])
        assert [float(row[0]) for row in result] == pytest.approx([5.0, 6.0])
    finally:
        predictor.delete_endpoint()
    uploaded.put_object(Bucket=BUCKET, Key="sdk-batch/rows.csv", Body="".join(f"{i},1\n" for i in range(20)).encode())
    transformer = model.transformer(instance_count=1, instance_type="ml.c5.xlarge", assemble_with="Line",
                                    output_path=f"s3://{BUCKET}/sdk-predictions", accept="text/csv")
    transformer.transform(f"s3://{BUCKET}/sdk-batch/", content_type="text/csv", split_type="Line")
    transformer.wait()
    output = uploaded.get_object(Bucket=BUCKET, Key="sdk-predictions/rows.csv.out")["Body"].read().decode()
    assert [float(v) for v in output.split()] == pytest.approx([2 * i + 3 for i in range(20)])


SAGEMAKER_V2_SCRIPT = '''
import json, os, sys
import boto3, sagemaker
from sagemaker.estimator import Estimator
from sagemaker.serializers import CSVSerializer
from sagemaker.deserializers import JSONDeserializer

bucket, image, role = sys.argv[1:4]
session = sagemaker.Session(boto_session=boto3.Session())
code = f"s3://{bucket}/code/sourcedir.tar.gz"
estimator = Estimator(image_uri=image, role=role, instance_count=1, instance_type="ml.c5.xlarge",
                      output_path=f"s3://{bucket}/v2-models", sagemaker_session=session,
                      hyperparameters={"sagemaker_program": "train.py", "sagemaker_submit_directory": code})
estimator.fit({"train": f"s3://{bucket}/data/"}, logs="All")
predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.c5.xlarge",
                             env={"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": code},
                             serializer=CSVSerializer(), deserializer=JSONDeserializer())
try:
    print("PREDICTIONS", json.dumps(predictor.predict([[1, 1], [0, 2]])))
finally:
    predictor.delete_endpoint()
'''


def test_sagemaker_python_sdk_v2_fits_deploys_and_predicts(server, uploaded, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        from _peers import peer_env, sagemaker_v2_python
    finally:
        sys.path.pop(0)
    script = tmp_path / "v2.py"
    script.write_text(SAGEMAKER_V2_SCRIPT)
    result = subprocess.run([sagemaker_v2_python(), str(script), BUCKET, IMAGE, ROLE], capture_output=True,
                            text=True, timeout=600,
                            env={**peer_env(), **environment(server.url), "SAGEMAKER_SUPPRESS_V2_WARNING": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "weights [2.0, 3.0]" in result.stdout  # the SDK's log streaming read the job's real output
    predictions = json.loads(result.stdout.split("PREDICTIONS", 1)[1].splitlines()[0])
    assert predictions == pytest.approx([5.0, 6.0])


def test_a_server_given_a_key_refuses_unsigned_and_wrongly_signed_requests(tmp_path):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import ClientError

    beyond_loopback = subprocess.run([sys.executable, "-m", "framework_sdk.cli", "api", "--host", "0.0.0.0",
                                      "--port", "0", "--state-dir", str(tmp_path / "open")],
                                     capture_output=True, text=True, timeout=60)
    assert beyond_loopback.returncode != 0 and "--access-key and --secret-key" in beyond_loopback.stderr

    server = ApiServer(tmp_path / "state", extra=["--access-key", "AKIDLOCAL", "--secret-key", "s3cr3t"]).start()
    try:
        def clients(key, secret, **config):
            session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1")
            return {name: session.client(name, endpoint_url=server.url, config=Config(**config))
                    for name in ("sagemaker", "s3", "sts", "logs")}

        good = clients("AKIDLOCAL", "s3cr3t")
        assert good["sagemaker"].list_training_jobs()["TrainingJobSummaries"] == []
        good["s3"].create_bucket(Bucket=BUCKET)
        good["s3"].put_object(Bucket=BUCKET, Key="a key/with spaces+plus.txt", Body=b"signed")
        assert good["s3"].get_object(Bucket=BUCKET, Key="a key/with spaces+plus.txt")["Body"].read() == b"signed"
        assert [o["Key"] for o in good["s3"].list_objects_v2(Bucket=BUCKET, Prefix="a key/")["Contents"]] == [
            "a key/with spaces+plus.txt"]
        assert good["sts"].get_caller_identity()["Account"]

        expected = {"sagemaker": "InvalidSignatureException", "s3": "SignatureDoesNotMatch",
                    "sts": "InvalidSignatureException"}
        wrong = clients("AKIDLOCAL", "not-the-secret", retries={"max_attempts": 1})
        calls = {"sagemaker": lambda c: c.list_training_jobs(), "s3": lambda c: c.list_objects_v2(Bucket=BUCKET),
                 "sts": lambda c: c.get_caller_identity()}
        for name, call in calls.items():
            with pytest.raises(ClientError) as refused:
                call(wrong[name])
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            assert refused.value.response["Error"]["Code"] == expected[name], name
        with pytest.raises(ClientError) as refused:
            clients("AKIDOTHER", "s3cr3t")["sagemaker"].list_models()
        assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
        unsigned = clients("x", "y", signature_version=UNSIGNED, retries={"max_attempts": 1})
        for name, code in (("sagemaker", "MissingAuthenticationTokenException"), ("s3", "AccessDenied")):
            with pytest.raises(ClientError) as refused:
                calls[name](unsigned[name])
            assert refused.value.response["Error"]["Code"] == code
        assert good["sagemaker"].list_models()["Models"] == []  # still serving
    finally:
        server.stop()


CHAINER_TRAIN = '''
import os
import chainer
import numpy as np
rows = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",", ndmin=2)
layer = chainer.links.Linear(2, 1, nobias=True)
optimizer = chainer.optimizers.Adam(alpha=0.1)
optimizer.setup(layer)
x, y = rows[:, :-1].astype("float32"), rows[:, -1:].astype("float32")
for step in range(500):
    loss = chainer.functions.mean_squared_error(layer(x), y)
    layer.cleargrads()
    loss.backward()
    optimizer.update()
print("chainer", chainer.__version__, "loss", float(loss.array), flush=True)
np.save(os.path.join(os.environ["SM_MODEL_DIR"], "weights.npy"), layer.W.array.ravel().astype(float))
'''


@pytest.mark.docker
@pytest.mark.slow
def test_boto3_runs_the_chainer_image_in_docker_through_the_server(tmp_path, chainer_image):
    import boto3

    server = ApiServer(tmp_path / "state", backend="docker").start()
    try:
        session = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
        s3, sagemaker, runtime, logs = (session.client(name, endpoint_url=server.url)
                                        for name in ("s3", "sagemaker", "sagemaker-runtime", "logs"))
        s3.create_bucket(Bucket=BUCKET)
        rows = "".join(f"{a / 10},{a % 3},{2 * a / 10 + 3 * (a % 3)}\n" for a in range(30))
        s3.put_object(Bucket=BUCKET, Key="data/train.csv", Body=rows.encode())
        s3.put_object(Bucket=BUCKET, Key="code/sourcedir.tar.gz",
                      Body=sourcedir({"train.py": CHAINER_TRAIN, "inference.py": INFERENCE}))
        request = training_request("chainer-docker")
        request["AlgorithmSpecification"]["TrainingImage"] = chainer_image
        sagemaker.create_training_job(**request)
        sagemaker.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="chainer-docker", WaiterConfig={"Delay": 1, "MaxAttempts": 600})
        job = sagemaker.describe_training_job(TrainingJobName="chainer-docker")
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        events = logs.filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix="chainer-docker/algo-1-", filterPattern="chainer")["events"]
        assert any(e["message"].startswith("chainer 7.8.1 loss") for e in events), events
        sagemaker.create_model(ModelName="chainer-model", ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": chainer_image, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"],
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py",
                            "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/code/sourcedir.tar.gz"}})
        sagemaker.create_endpoint_config(EndpointConfigName="chainer-config", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "chainer-model", "InitialInstanceCount": 1,
            "InstanceType": "ml.c5.xlarge"}])
        sagemaker.create_endpoint(EndpointName="chainer-endpoint", EndpointConfigName="chainer-config")
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="chainer-endpoint",
                                                         WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        buffer = io.BytesIO()
        np.save(buffer, np.array([[1.0, 1.0], [0.0, 2.0]]))
        answer = runtime.invoke_endpoint(EndpointName="chainer-endpoint", Body=buffer.getvalue(),
                                         ContentType="application/x-npy", Accept="application/x-npy")
        predictions = np.load(io.BytesIO(answer["Body"].read()))
        assert predictions.ravel() == pytest.approx([5.0, 6.0], abs=0.1)
        sagemaker.delete_endpoint(EndpointName="chainer-endpoint")
        sagemaker.get_waiter("endpoint_deleted").wait(EndpointName="chainer-endpoint", WaiterConfig={"Delay": 1})
    finally:
        server.stop()
