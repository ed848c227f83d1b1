"""Processing jobs on AWS: every request, checked by botocore's Stubber against the services' models."""
import datetime
import os
import subprocess
import sys
import tarfile

import pytest
from botocore.stub import ANY

from framework_sdk.chainer import ChainerProcessor
from framework_sdk.exceptions import ConfigurationError, UnexpectedStatusException
from framework_sdk.processing import (FrameworkProcessor, ProcessingInput, ProcessingJob, ProcessingOutput, Processor,
                                      ScriptProcessor)

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
ACCOUNT = "123456789012"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
PYTHON_IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/framework-sdk-python:3.11-cpu-py3"
CHAINER_IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/framework-sdk-chainer:7.8.1-cpu-py3"
BUCKET = f"sagemaker-us-west-2-{ACCOUNT}"
GROUP = "/aws/sagemaker/ProcessingJobs"


@pytest.fixture
def code(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "preprocess.py").write_text("print('preprocessing')\n")
    (folder / "evaluate.py").write_text("print('evaluating')\n")
    (folder / "requirements.txt").write_text("numpy\n")
    return folder


def _stub_default_bucket(stubs):
    stubs.sts.add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/me",
                                                   "UserId": "AIDA"}, {})
    stubs.s3.add_response("head_bucket", {}, {"Bucket": BUCKET})


def _description(name, status="Completed", **extra):
    description = {
        "ProcessingJobName": name, "ProcessingJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:processing-job/{name}",
        "ProcessingJobStatus": status, "CreationTime": NOW, "RoleArn": ROLE,
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                  "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": PYTHON_IMAGE},
    }
    description.update(extra)
    return description


def test_script_processor_sends_a_valid_create_processing_job(aws_stubs, code, tmp_path):
    extra = tmp_path / "lookup"
    extra.mkdir()
    (extra / "labels.csv").write_text("a,b\n")
    processor = ScriptProcessor(role=ROLE, image_uri=PYTHON_IMAGE, command=["python3", "-u"], instance_count=2,
                                instance_type="ml.m5.xlarge", env={"MODE": "strict"}, max_runtime_in_seconds=600,
                                base_job_name="prep", tags={"team": "ml"}, volume_kms_key="vol-key",
                                output_kms_key="out-key", volume_size_in_gb=50,
                                network_config={"EnableNetworkIsolation": True},
                                sagemaker_session=aws_stubs.session)
    _stub_default_bucket(aws_stubs)
    aws_stubs.s3.add_response("put_object", {"ETag": '"x"'},  # the local input folder's one file
                              {"Bucket": BUCKET, "Key": ANY, "Body": ANY, "ChecksumAlgorithm": ANY})
    aws_stubs.s3.add_response("put_object", {"ETag": '"x"'},  # the code
                              {"Bucket": BUCKET, "Key": ANY, "Body": ANY, "ChecksumAlgorithm": ANY})
    aws_stubs.sagemaker.add_response(
        "create_processing_job", {"ProcessingJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:processing-job/x"}, {
            "ProcessingJobName": ANY,
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge",
                                                      "VolumeSizeInGB": 50, "VolumeKmsKeyId": "vol-key"}},
            "AppSpecification": {"ImageUri": PYTHON_IMAGE,
                                 "ContainerEntrypoint": ["python3", "-u", "/opt/ml/processing/input/code/preprocess.py"],
                                 "ContainerArguments": ["--split", "0.2"]},
            "ProcessingInputs": [
                {"InputName": "raw", "AppManaged": False, "S3Input": {
                    "S3Uri": "s3://data/raw", "LocalPath": "/opt/ml/processing/input/raw", "S3DataType": "S3Prefix",
                    "S3InputMode": "File", "S3DataDistributionType": "ShardedByS3Key", "S3CompressionType": "None"}},
                {"InputName": "input-2", "AppManaged": False, "S3Input": {
                    "S3Uri": ANY, "LocalPath": "/opt/ml/processing/input/lookup", "S3DataType": "S3Prefix",
                    "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}},
                {"InputName": "code", "AppManaged": False, "S3Input": {
                    "S3Uri": ANY, "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix",
                    "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}},
            ],
            "ProcessingOutputConfig": {"Outputs": [
                {"OutputName": "train", "AppManaged": False, "S3Output": {
                    "S3Uri": "s3://out/train", "LocalPath": "/opt/ml/processing/output/train",
                    "S3UploadMode": "EndOfJob"}},
                {"OutputName": "output-2", "AppManaged": False, "S3Output": {
                    "S3Uri": ANY, "LocalPath": "/opt/ml/processing/output/test", "S3UploadMode": "Continuous"}},
            ], "KmsKeyId": "out-key"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "RoleArn": ROLE,
            "Environment": {"MODE": "strict"},
            "NetworkConfig": {"EnableNetworkIsolation": True},
            "Tags": [{"Key": "team", "Value": "ml"}],
        })
    processor.run(code=str(code / "preprocess.py"),
                  inputs=[ProcessingInput("s3://data/raw", "/opt/ml/processing/input/raw", input_name="raw",
                                          s3_data_distribution_type="ShardedByS3Key"),
                          ProcessingInput(str(extra), "/opt/ml/processing/input/lookup")],
                  outputs=[ProcessingOutput("/opt/ml/processing/output/train", "s3://out/train", output_name="train"),
                           ProcessingOutput("/opt/ml/processing/output/test/", s3_upload_mode="Continuous")],
                  arguments=["--split", "0.2"], wait=False)
    for stubber in (aws_stubs.sagemaker, aws_stubs.s3, aws_stubs.sts):
        stubber.assert_no_pending_responses()
    job = processor.latest_job
    assert job.name.startswith("prep-") and len(job.name) <= 63
    by_name = {item.input_name: item.source for item in job.inputs}
    # SageMaker v2's places: <bucket>/<job>/input/<name>/<file>, and the default output <bucket>/<job>/output/<name>
    assert by_name["input-2"] == f"s3://{BUCKET}/{job.name}/input/input-2"
    assert by_name["code"] == f"s3://{BUCKET}/{job.name}/input/code/preprocess.py"
    assert [output.destination for output in job.outputs] == ["s3://out/train",
                                                              f"s3://{BUCKET}/{job.name}/output/output-2"]
    assert processor.jobs == [job]


def test_processor_runs_the_images_entrypoint_with_arguments(aws_stubs):
    processor = Processor(role=ROLE, image_uri=PYTHON_IMAGE, instance_count=1, instance_type="ml.m5.xlarge",
                          entrypoint=["python3", "/opt/program/process.py"], sagemaker_session=aws_stubs.session)
    aws_stubs.sagemaker.add_response("create_processing_job", {"ProcessingJobArn": "arn:x"}, {
        "ProcessingJobName": "my-job", "RoleArn": ROLE,
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                  "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": PYTHON_IMAGE, "ContainerEntrypoint": ["python3", "/opt/program/process.py"],
                             "ContainerArguments": ["--mode", "fast"]}})
    processor.run(arguments=["--mode", "fast"], job_name="my-job", wait=False)
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_wait_follows_the_logs_of_every_instance_then_the_status(aws_stubs, capsys):
    name = "prep-2026-01-01-00-00-00-000"
    aws_stubs.sagemaker.add_response("describe_processing_job", _description(name, "InProgress"),
                                     {"ProcessingJobName": name})
    stream = f"{name}/algo-1-1767225600"
    aws_stubs.logs.add_response("describe_log_streams", {"logStreams": [{"logStreamName": stream}]},
                                {"logGroupName": GROUP, "logStreamNamePrefix": f"{name}/"})
    aws_stubs.logs.add_response("get_log_events", {"events": [{"timestamp": 1, "message": "split 10 files"}],
                                                   "nextForwardToken": "f1"},
                                {"logGroupName": GROUP, "logStreamName": stream, "startFromHead": True})
    aws_stubs.logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f1"},
                                {"logGroupName": GROUP, "logStreamName": stream, "startFromHead": True,
                                 "nextToken": "f1"})
    aws_stubs.sagemaker.add_response("describe_processing_job", _description(name, "Completed"),
                                     {"ProcessingJobName": name})
    aws_stubs.logs.add_response("describe_log_streams", {"logStreams": [{"logStreamName": stream}]},
                                {"logGroupName": GROUP, "logStreamNamePrefix": f"{name}/"})
    aws_stubs.logs.add_response("get_log_events", {"events": [{"timestamp": 2, "message": "wrote train, test"}],
                                                   "nextForwardToken": "f2"},
                                {"logGroupName": GROUP, "logStreamName": stream, "startFromHead": True,
                                 "nextToken": "f1"})
    aws_stubs.logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f2"},
                                {"logGroupName": GROUP, "logStreamName": stream, "startFromHead": True,
                                 "nextToken": "f2"})
    description = ProcessingJob(aws_stubs.session, name, [], []).wait(logs=True)
    assert description["ProcessingJobStatus"] == "Completed"
    assert capsys.readouterr().out.splitlines() == ["[algo-1] split 10 files", "[algo-1] wrote train, test",
                                                    f"{name}: Completed"]
    aws_stubs.logs.assert_no_pending_responses()


def test_a_failed_job_raises_with_its_reason_and_where_its_logs_are(aws_stubs):
    name = "prep-2026-01-01-00-00-00-000"
    aws_stubs.sagemaker.add_response("describe_processing_job",
                                     _description(name, "Failed", FailureReason="AlgorithmError: exit code 1",
                                                  ExitMessage="bad rows in part-3.csv"),
                                     {"ProcessingJobName": name})
    with pytest.raises(UnexpectedStatusException, match="AlgorithmError: exit code 1.*logs_for_processing_job"):
        ProcessingJob(aws_stubs.session, name, [], []).wait(logs=False)


def test_stop_and_attach_by_name(aws_stubs):
    name = "prep-2026-01-01-00-00-00-000"
    aws_stubs.sagemaker.add_response("describe_processing_job", _description(name, "InProgress", ProcessingInputs=[
        {"InputName": "raw", "AppManaged": False, "S3Input": {
            "S3Uri": "s3://data/raw", "LocalPath": "/opt/ml/processing/input/raw", "S3DataType": "S3Prefix",
            "S3InputMode": "File", "S3DataDistributionType": "ShardedByS3Key", "S3CompressionType": "None"}}],
        ProcessingOutputConfig={"Outputs": [{"OutputName": "train", "S3Output": {
            "S3Uri": "s3://out/train", "LocalPath": "/opt/ml/processing/output/train",
            "S3UploadMode": "Continuous"}}], "KmsKeyId": "out-key"}), {"ProcessingJobName": name})
    aws_stubs.sagemaker.add_response("stop_processing_job", {}, {"ProcessingJobName": name})
    job = ProcessingJob.from_processing_arn(aws_stubs.session,
                                            f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:processing-job/{name}")
    assert job.name == name and job.output_kms_key == "out-key"
    (raw,), (train,) = job.inputs, job.outputs
    assert (raw.source, raw.destination, raw.s3_data_distribution_type) == (
        "s3://data/raw", "/opt/ml/processing/input/raw", "ShardedByS3Key")
    assert (train.source, train.destination, train.s3_upload_mode) == (
        "/opt/ml/processing/output/train", "s3://out/train", "Continuous")
    job.stop()
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_framework_processor_uploads_sourcedir_and_runner_once_per_content(aws_stubs, code):
    aws_stubs.sts.add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/me",
                                                       "UserId": "AIDA"}, {})  # the image's ECR registry
    processor = ChainerProcessor(framework_version="7.8.1", role=ROLE, instance_count=1,
                                 instance_type="ml.c5.xlarge", code_location="s3://code-bucket/prefix",
                                 sagemaker_session=aws_stubs.session)
    assert processor.image_uri == CHAINER_IMAGE and processor.command == ["python"]
    for _ in range(2):  # sourcedir.tar.gz, then runproc.sh: neither is there yet
        aws_stubs.s3.add_client_error("head_object", "404", "Not Found", 404,
                                      expected_params={"Bucket": "code-bucket", "Key": ANY})
        aws_stubs.s3.add_response("put_object", {"ETag": '"x"'},
                                  {"Bucket": "code-bucket", "Key": ANY, "Body": ANY, "Metadata": {"sha256": ANY},
                                   "ChecksumAlgorithm": ANY})
    aws_stubs.sagemaker.add_response("create_processing_job", {"ProcessingJobArn": "arn:x"}, {
        "ProcessingJobName": ANY, "RoleArn": ROLE,
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.c5.xlarge",
                                                  "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": CHAINER_IMAGE,
                             "ContainerEntrypoint": ["/bin/sh", "/opt/ml/processing/input/entrypoint/runproc.sh"],
                             "ContainerArguments": ["--model", "/opt/ml/processing/model"]},
        "ProcessingInputs": [
            {"InputName": "model", "AppManaged": False, "S3Input": {
                "S3Uri": "s3://out/job/output/model.tar.gz", "LocalPath": "/opt/ml/processing/model",
                "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated",
                "S3CompressionType": "None"}},
            {"InputName": "code", "AppManaged": False, "S3Input": {
                "S3Uri": ANY, "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix",
                "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}},
            {"InputName": "entrypoint", "AppManaged": False, "S3Input": {
                "S3Uri": ANY, "LocalPath": "/opt/ml/processing/input/entrypoint", "S3DataType": "S3Prefix",
                "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "evaluation", "AppManaged": False, "S3Output": {
            "S3Uri": "s3://out/evaluation", "LocalPath": "/opt/ml/processing/evaluation",
            "S3UploadMode": "EndOfJob"}}]}})
    processor.run("evaluate.py", source_dir=str(code),
                  inputs=[ProcessingInput("s3://out/job/output/model.tar.gz", "/opt/ml/processing/model", "model")],
                  outputs=[ProcessingOutput("/opt/ml/processing/evaluation", "s3://out/evaluation", "evaluation")],
                  arguments=["--model", "/opt/ml/processing/model"], wait=False)
    aws_stubs.s3.assert_no_pending_responses()
    aws_stubs.sagemaker.assert_no_pending_responses()
    sources = {item.input_name: item.source for item in processor.latest_job.inputs}
    assert sources["code"].startswith("s3://code-bucket/prefix/framework-sdk-chainer/source/")
    assert sources["code"].endswith("/sourcedir.tar.gz")
    assert sources["entrypoint"].endswith("/runproc.sh")
    assert processor.latest_job.name.startswith("framework-sdk-chainer-")


@pytest.mark.parametrize("make, message", [
    (lambda: ProcessingInput("s3://data/raw", "/data/raw"), "not a folder under /opt/ml/processing/"),
    (lambda: ProcessingInput("s3://data/raw", "/opt/ml/processing/../etc"), "not a folder under"),
    (lambda: ProcessingInput("s3://data/raw", "/opt/ml/processing/in", s3_input_mode="FastFile"),
     "s3_input_mode='FastFile' is not valid; use one of File, Pipe"),
    (lambda: ProcessingInput("s3://data/raw", "/opt/ml/processing/in", s3_data_distribution_type="Sharded"),
     "use one of FullyReplicated, ShardedByS3Key"),
    (lambda: ProcessingOutput("/opt/ml/output", "s3://out"), "not a folder under /opt/ml/processing/"),
    (lambda: ProcessingOutput("/opt/ml/processing/out", "s3://out", s3_upload_mode="AtTheEnd"),
     "use one of EndOfJob, Continuous"),
])
def test_inputs_and_outputs_are_checked_when_made(make, message):
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make()


@pytest.mark.parametrize("run, message", [
    (lambda p: p.run(inputs=[ProcessingInput("file:///data", "/opt/ml/processing/in")]),
     "file:// URI, which only local mode can read"),
    (lambda p: p.run(inputs=[ProcessingInput("s3://a/b", "/opt/ml/processing/a"),
                             ProcessingInput("s3://a/c", "/opt/ml/processing/b", input_name="input-1")]),
     r"input names must be unique; \['input-1'\]"),
    (lambda p: p.run(outputs=[ProcessingOutput("/opt/ml/processing/out", "/tmp/out")]), "is not a URI"),
    (lambda p: p.run(arguments="--all"), "arguments must be a list of strings"),
    (lambda p: p.run(inputs=["s3://a/b"]), "inputs must be ProcessingInput objects; item 1 is a str"),
])
def test_run_refuses_what_sagemaker_would_before_any_request(aws_stubs, run, message):
    processor = Processor(role=ROLE, image_uri=PYTHON_IMAGE, instance_count=1, instance_type="ml.m5.xlarge",
                          sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match=message):
        run(processor)  # the Stubbers fail on any request: none is sent


def test_constructors_say_what_is_missing(aws_stubs, code):
    with pytest.raises(ConfigurationError, match="command must be a non-empty list"):
        ScriptProcessor(role=ROLE, image_uri=PYTHON_IMAGE, command="python3", instance_count=1,
                        instance_type="ml.m5.xlarge", sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="role is required on AWS SageMaker"):
        Processor(image_uri=PYTHON_IMAGE, instance_count=1, instance_type="ml.m5.xlarge",
                  sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="framework_version is required.*7.8.1"):
        ChainerProcessor(role=ROLE, instance_count=1, instance_type="ml.m5.xlarge", sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="names no framework image"):
        FrameworkProcessor(dict, "1.0", ROLE, 1, "ml.m5.xlarge", sagemaker_session=aws_stubs.session)
    script = ScriptProcessor(role=ROLE, image_uri=PYTHON_IMAGE, command=["python3"], instance_count=1,
                             instance_type="ml.m5.xlarge", sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="input name 'code' is taken by this processor's code"):
        script.run(str(code / "preprocess.py"), inputs=[ProcessingInput("s3://a/b", "/opt/ml/processing/x", "code")])
    with pytest.raises(ConfigurationError, match="is not a file"):
        script.run(str(code / "missing.py"))


# ------------------------------------------------------------- FrameworkProcessor's runner, run by sh
def _runner(tmp_path, code, command):
    processor = FrameworkProcessor.__new__(FrameworkProcessor)  # only the runner's inputs are needed
    processor.command, processor._code = command, "jobs/evaluate.py"
    runner = tmp_path / "runproc.sh"
    runner.write_text(processor._runner())
    base = tmp_path / "tree"
    folder = base / "processing" / "input" / "code"
    folder.mkdir(parents=True)
    with tarfile.open(folder / "sourcedir.tar.gz", "w:gz") as archive:
        archive.add(code / "evaluate.py", "jobs/evaluate.py")
        archive.add(code / "requirements.txt", "requirements.txt")
    return runner, base


def test_the_runner_unpacks_installs_requirements_and_passes_the_arguments(tmp_path, code):
    fake_python = tmp_path / "fake-python"  # records how it is called instead of running anything
    fake_python.write_text('#!/bin/sh\necho "called: $* (in $(basename "$PWD"), $(ls | tr "\\n" " "))"\n')
    fake_python.chmod(0o755)
    runner, base = _runner(tmp_path, code, [str(fake_python)])
    env = dict(os.environ, SAGEMAKER_BASE_DIR=str(base))
    env.pop("FRAMEWORK_SDK_REQUIREMENTS_INSTALLED", None)
    done = subprocess.run(["/bin/sh", str(runner), "--model", "a b"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("called: -m pip install -r requirements.txt")
    assert lines[1].startswith("called: jobs/evaluate.py --model a b")
    assert "jobs requirements.txt" in lines[1]  # run where sourcedir.tar.gz was unpacked

    env["FRAMEWORK_SDK_REQUIREMENTS_INSTALLED"] = "1"  # the local engine installed them in a cached layer
    done = subprocess.run(["/bin/sh", str(runner)], capture_output=True, text=True, env=env)
    assert done.stdout.splitlines()[0].startswith("called: jobs/evaluate.py")
    assert "pip" not in done.stdout


def test_the_runner_ends_with_the_scripts_exit_code(tmp_path, code):
    (code / "evaluate.py").write_text("import sys; sys.exit(7)\n")
    runner, base = _runner(tmp_path, code, [sys.executable])
    done = subprocess.run(["/bin/sh", str(runner)], capture_output=True, text=True,
                          env=dict(os.environ, SAGEMAKER_BASE_DIR=str(base), FRAMEWORK_SDK_REQUIREMENTS_INSTALLED="1"))
    assert done.returncode == 7
