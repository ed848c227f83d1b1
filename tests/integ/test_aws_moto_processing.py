"""The processing workflow's pieces over real HTTP against moto's server (S3, SageMaker, Logs, STS).

moto records CreateProcessingJob and answers DescribeProcessingJob (``Completed`` at once: it
runs nothing), StopProcessingJob and ListProcessingJobs; its DescribeProcessingJob leaves out
``ProcessingResources`` and ``Environment``. So this proves that the requests are accepted over
HTTP, the code and inputs land in S3 where SageMaker looks for them, and the lifecycle (logs
from ``/aws/sagemaker/ProcessingJobs``, attach, stop) reaches its end; running the scripts is
the local tests' job (tests/integ/test_processing_workflow.py).
"""
import io
import tarfile
import time
from pathlib import Path

import pytest

from framework_sdk.chainer import Chainer, ChainerProcessor
from framework_sdk.processing import ProcessingInput, ProcessingJob, ProcessingOutput, ScriptProcessor
from framework_sdk.session import Session

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
ACCOUNT = "123456789012"
CODE = Path(__file__).resolve().parents[2] / "examples" / "processing_workflow"
PYTHON_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/framework-sdk-python:3.11-cpu-py3"


@pytest.fixture
def session(moto_url):
    import boto3

    boto = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    clients = {name: boto.client(name, endpoint_url=moto_url) for name in ("sagemaker", "s3", "logs", "sts")}
    return Session(boto_session=boto, sagemaker_client=clients["sagemaker"], s3_client=clients["s3"],
                   logs_client=clients["logs"], sts_client=clients["sts"])


def _object(session, uri):
    bucket, key = uri[len("s3://"):].split("/", 1)
    return session.read_s3_file(bucket, key)


def _write_logs(session, job, lines):
    logs = session.logs_client
    group = "/aws/sagemaker/ProcessingJobs"
    try:
        logs.create_log_group(logGroupName=group)
    except Exception:  # made by an earlier test
        pass
    now = int(time.time() * 1000)
    for host, messages in lines.items():
        stream = f"{job}/{host}-{now // 1000}"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": now + index, "message": text}
                                       for index, text in enumerate(messages)])


def test_the_workflows_pieces_over_http(session, tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    for shard in range(4):
        (raw / f"raw-{shard}.csv").write_text(f"{shard},1,2,3,{shard % 2}\n")
    raw_uri = session.upload_data(str(raw), key_prefix="raw")
    bucket = session.default_bucket()

    # 1. preprocess: the code goes to s3://<bucket>/<job>/input/code/, the outputs default to <bucket>/<job>/output/<name>
    job_name = "preprocess-2026-01-01-00-00-00-000"
    _write_logs(session, job_name, {"algo-1": ["algo-1: 2 shards"], "algo-2": ["algo-2: 2 shards"]})
    preprocess = ScriptProcessor(role=ROLE, image_uri=PYTHON_IMAGE, command=["python3"], instance_count=2,
                                 instance_type="ml.m5.xlarge", sagemaker_session=session)
    preprocess.run(str(CODE / "preprocess.py"), job_name=job_name,
                   inputs=[ProcessingInput(raw_uri, "/opt/ml/processing/input",
                                           s3_data_distribution_type="ShardedByS3Key")],
                   outputs=[ProcessingOutput("/opt/ml/processing/train", output_name="train"),
                            ProcessingOutput("/opt/ml/processing/test", output_name="test")])
    assert capsys.readouterr().out.splitlines()[-3:] == ["[algo-1] algo-1: 2 shards", "[algo-2] algo-2: 2 shards",
                                                         f"{job_name}: Completed"]
    code = {item.input_name: item.source for item in preprocess.latest_job.inputs}["code"]
    assert code == f"s3://{bucket}/{job_name}/input/code/preprocess.py"
    assert _object(session, code) == (CODE / "preprocess.py").read_bytes()
    channels = {output.output_name: output.destination for output in preprocess.latest_job.outputs}
    assert channels == {"train": f"s3://{bucket}/{job_name}/output/train",
                        "test": f"s3://{bucket}/{job_name}/output/test"}
    description = session.describe_processing_job(job_name)
    assert description["AppSpecification"]["ContainerEntrypoint"] == [
        "python3", "/opt/ml/processing/input/code/preprocess.py"]
    assert description["ProcessingInputs"][0]["S3Input"]["S3DataDistributionType"] == "ShardedByS3Key"

    # 2. train on the preprocessing output
    estimator = Chainer(entry_point="train.py", source_dir=str(CODE), role=ROLE, framework_version="7.8.1",
                        instance_type="ml.c5.xlarge", instance_count=1, sagemaker_session=session)
    estimator.fit({"train": channels["train"]}, logs=False)

    # 3. evaluate: sourcedir.tar.gz and the runner uploaded once per content, the model and test channel as inputs
    evaluate = ChainerProcessor(framework_version="7.8.1", role=ROLE, instance_type="ml.c5.xlarge",
                                instance_count=1, sagemaker_session=session)
    evaluate.run("evaluate.py", source_dir=str(CODE), logs=False,
                 inputs=[ProcessingInput(estimator.model_data, "/opt/ml/processing/model", "model"),
                         ProcessingInput(channels["test"], "/opt/ml/processing/test", "test")],
                 outputs=[ProcessingOutput("/opt/ml/processing/evaluation", output_name="evaluation")])
    job = evaluate.latest_job
    sources = {item.input_name: item.source for item in job.inputs}
    with tarfile.open(fileobj=io.BytesIO(_object(session, sources["code"]))) as archive:
        assert {"evaluate.py", "net.py", "train.py"} <= set(archive.getnames())
    runner = _object(session, sources["entrypoint"]).decode()
    assert runner.startswith("#!/bin/sh") and "exec python evaluate.py \"$@\"" in runner
    description = job.describe()
    assert description["ProcessingJobStatus"] == "Completed"
    assert description["AppSpecification"] == {
        "ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/framework-sdk-chainer:7.8.1-cpu-py3",
        "ContainerEntrypoint": ["/bin/sh", "/opt/ml/processing/input/entrypoint/runproc.sh"]}

    # attach by name, then stop
    attached = ProcessingJob.from_processing_name(session, job.name)
    assert [(item.input_name, item.source) for item in attached.inputs] == list(sources.items())
    assert attached.outputs[0].destination == f"s3://{bucket}/{job.name}/output/evaluation"
    attached.stop()
    assert attached.describe()["ProcessingJobStatus"] == "Stopped"
