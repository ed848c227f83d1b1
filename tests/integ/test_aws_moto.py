"""The client SDK over real HTTP against moto's server mode (S3, SageMaker, SageMaker Runtime, Logs, STS).

moto runs as its own process (``moto_server``) on a free 127.0.0.1 port. What moto covers and
what it does not:

* S3: real storage of what we upload (single and multipart), listing, heads and downloads.
* SageMaker: it records CreateTrainingJob / CreateModel / CreateEndpointConfig /
  CreateEndpoint / CreateTransformJob and answers the matching Describe and Delete calls.
  It runs nothing: a training job is ``Completed`` at once with a ``ModelArtifacts`` URI
  that nobody wrote, an endpoint is ``InService`` at once, a transform job ``Completed``.
  So these tests prove the requests are accepted and the lifecycle code reaches the end
  state over HTTP; running real training is the local-mode and Chainer tests' job.
* SageMaker Runtime: InvokeEndpoint answers what the test queues through moto's
  ``/moto-api/static/sagemaker/endpoint-results`` hook (it does not run a model).
* CloudWatch Logs: real log groups/streams/events that the test writes, read back by
  ``logs_for_job``.
* SageMaker tuning: moto records CreateHyperParameterTuningJob and answers
  DescribeHyperParameterTuningJob (``Completed`` at once, with a made-up best training job) and
  ListHyperParameterTuningJobs; it runs no training job.
* Not implemented by moto: StopTrainingJob and StopTransformJob; they are covered with
  botocore's Stubber in tests/unit/test_client_requests.py. Nor ListTrainingJobsForHyperParameterTuningJob
  and StopHyperParameterTuningJob: Stubber tests in tests/unit/test_tuner_requests.py.
"""
import hashlib
import json
import os
import re
import time

import numpy as np
import pytest

from framework_sdk.estimator import Estimator, Framework
from framework_sdk.exceptions import AWSError
from framework_sdk.predictor import Predictor
from framework_sdk.serializers import JSONDeserializer, JSONSerializer
from framework_sdk.session import Session

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
MB = 1024 * 1024


class Toy(Framework):
    _framework_name = "chainer"


@pytest.fixture
def session(moto_url):
    """A framework_sdk Session whose clients talk HTTP to the moto server."""
    import boto3

    boto = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    clients = {name: boto.client(name, endpoint_url=moto_url)
               for name in ("sagemaker", "sagemaker-runtime", "s3", "logs", "sts")}
    return Session(boto_session=boto, sagemaker_client=clients["sagemaker"],
                   sagemaker_runtime_client=clients["sagemaker-runtime"], s3_client=clients["s3"],
                   logs_client=clients["logs"], sts_client=clients["sts"])


def _keys(session, bucket, prefix):
    paginator = session.s3_client.get_paginator("list_objects_v2")
    return [item["Key"] for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for item in page.get("Contents", ())]


def test_default_bucket_is_created(session):
    bucket = session.default_bucket()
    assert bucket == "sagemaker-us-east-1-123456789012"
    session.s3_client.head_bucket(Bucket=bucket)


def test_upload_a_folder_of_1000_files(session, tmp_path):
    root = tmp_path / "data"
    for index in range(1000):
        path = root / f"part-{index % 10}" / f"file-{index:04d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"record {index}\n")
    sent = []
    started = time.monotonic()
    uri = session.upload_data(str(root), key_prefix="many", callback=sent.append)
    elapsed = time.monotonic() - started
    assert sum(sent) == sum(path.stat().st_size for path in root.rglob("*.txt"))  # SageMaker v2's callback
    bucket = session.default_bucket()
    assert uri == f"s3://{bucket}/many"
    keys = _keys(session, bucket, "many/")
    assert len(keys) == 1000
    assert "many/part-7/file-0007.txt" in keys
    body = session.s3_client.get_object(Bucket=bucket, Key="many/part-3/file-0123.txt")["Body"].read()
    assert body == b"record 123\n"
    print(f"uploaded 1000 files in {elapsed:.2f} s")


def test_upload_a_200_mb_file_as_multipart_and_download_it(session, tmp_path):
    big = tmp_path / "big.bin"
    digest = hashlib.sha256()
    block = os.urandom(MB)
    with open(big, "wb") as out:
        for index in range(200):
            chunk = index.to_bytes(4, "little") + block[4:]
            digest.update(chunk)
            out.write(chunk)
    started = time.monotonic()
    uri = session.upload_data(str(big), bucket=session.default_bucket(), key_prefix="big")
    elapsed = time.monotonic() - started
    assert uri == f"s3://{session.default_bucket()}/big/big.bin"
    head = session.s3_client.head_object(Bucket=session.default_bucket(), Key="big/big.bin")
    assert head["ContentLength"] == 200 * MB
    assert head["ETag"].strip('"').endswith("-25")  # 25 parts of 8 MB: a multipart upload
    [local] = session.download_data(str(tmp_path / "back"), session.default_bucket(), "big/big.bin")
    check = hashlib.sha256()
    with open(local, "rb") as back:
        for chunk in iter(lambda: back.read(MB), b""):
            check.update(chunk)
    assert check.hexdigest() == digest.hexdigest()
    print(f"uploaded 200 MB in {elapsed:.2f} s ({200 / elapsed:.0f} MB/s)")


@pytest.fixture
def code(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text("print('train')\n")
    (source / "requirements.txt").write_text("\n")
    return source


def _count_puts(session):
    calls = []
    session.s3_client.meta.events.register("before-call.s3.PutObject", lambda **kw: calls.append(1))
    session.s3_client.meta.events.register("before-call.s3.CreateMultipartUpload", lambda **kw: calls.append(1))
    return calls


def test_sourcedir_is_uploaded_once_for_the_same_sources(session, code):
    puts = _count_puts(session)
    estimator = Toy(entry_point="train.py", source_dir=str(code), role=ROLE, instance_count=1,
                    instance_type="ml.m5.large", framework_version="7.8.1", sagemaker_session=session,
                    base_job_name="once")
    estimator.fit("s3://whatever/train", wait=False)
    first = estimator.hyperparameters()["sagemaker_submit_directory"]
    estimator.fit("s3://whatever/train", wait=False)
    assert estimator.hyperparameters()["sagemaker_submit_directory"] == first
    assert len(puts) == 1
    (code / "train.py").write_text("print('changed')\n")
    estimator.fit("s3://whatever/train", wait=False)
    assert estimator.hyperparameters()["sagemaker_submit_directory"] != first
    assert len(puts) == 2
    bucket, key = json.loads(first)[5:].split("/", 1)
    assert session.s3_client.head_object(Bucket=bucket, Key=key)["Metadata"]["sha256"][:16] in key


def _write_logs(session, job_name, lines):
    logs = session.logs_client
    group = "/aws/sagemaker/TrainingJobs"
    try:
        logs.create_log_group(logGroupName=group)
    except AWSError as error:
        assert error.code == "ResourceAlreadyExistsException"
    for host, events in lines.items():
        stream = f"{job_name}/{host}-1700000000"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": stamp, "message": text} for stamp, text in events])


def test_fit_waits_to_the_end_state_with_logs_then_attach_and_deploy(session, code, capsys):
    data = session.upload_data(str(code), key_prefix="train-data")
    now = int(time.time() * 1000)
    job_name = "toy-fit-2026-01-01-00-00-00-000"
    _write_logs(session, job_name, {"algo-1": [(now, "epoch 1"), (now + 2, "epoch 2")],
                                    "algo-2": [(now + 1, "worker ready")]})
    estimator = Toy(entry_point="train.py", source_dir=str(code), role=ROLE, instance_count=2,
                    instance_type="ml.c5.xlarge", framework_version="7.8.1", sagemaker_session=session,
                    hyperparameters={"epochs": 2})
    estimator.fit({"training": data}, job_name=job_name)
    out = capsys.readouterr().out
    assert out.splitlines()[-4:] == ["[algo-1] epoch 1", "[algo-2] worker ready", "[algo-1] epoch 2",
                                     f"{job_name}: Completed"]
    description = estimator.describe()
    assert description["TrainingJobStatus"] == "Completed"
    assert description["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == data
    assert estimator.model_data.endswith(f"{job_name}/output/model.tar.gz")

    attached = Toy.attach(job_name, sagemaker_session=session)
    assert (attached.entry_point, attached.framework_version, attached.py_version) == ("train.py", "7.8.1", "py3")
    assert attached.source_dir == json.loads(estimator.hyperparameters()["sagemaker_submit_directory"])
    assert attached._hyperparameters == {"epochs": 2}
    assert attached.instance_count == 2 and attached.base_job_name == "toy-fit"

    predictor = attached.deploy(1, "ml.m5.large", serializer=JSONSerializer(), deserializer=JSONDeserializer())
    assert predictor.endpoint_name.startswith("toy-fit-") and predictor.endpoint_name != job_name
    endpoint = session.describe_endpoint(predictor.endpoint_name)
    assert endpoint["EndpointStatus"] == "InService"
    model = session.describe_model(predictor.endpoint_name)
    env = model["PrimaryContainer"]["Environment"]
    assert env["SAGEMAKER_PROGRAM"] == "train.py" and env["SAGEMAKER_REGION"] == REGION
    assert env["SAGEMAKER_SUBMIT_DIRECTORY"] == attached.source_dir  # the code uploaded for training, reused
    assert model["PrimaryContainer"]["ModelDataUrl"] == estimator.model_data

    _queue_endpoint_result(session, {"Body": json.dumps({"predictions": [[0.25, 0.75]]}),
                                     "ContentType": "application/json"})
    assert predictor.predict(np.array([[1.0, 2.0]])) == {"predictions": [[0.25, 0.75]]}

    predictor.delete_model()
    predictor.delete_endpoint()
    for describe in (session.describe_endpoint, session.describe_endpoint_config, session.describe_model):
        with pytest.raises(AWSError):
            describe(predictor.endpoint_name)


def _queue_endpoint_result(session, result):
    """moto's hook for what InvokeEndpoint answers next (it runs no model)."""
    import urllib.request

    url = session.sagemaker_runtime_client.meta.endpoint_url + "/moto-api/static/sagemaker/endpoint-results"
    body = json.dumps({"account_id": "123456789012", "region": REGION, "results": [result]}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def test_plain_estimator_transformer_and_predictor_context_manager(session):
    estimator = Estimator("123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algo:1", ROLE, 1, "ml.m5.large",
                          output_path=f"s3://{session.default_bucket()}/out", hyperparameters={"k": 3},
                          sagemaker_session=session)
    estimator.fit("s3://data/train", logs=False)
    transformer = estimator.transformer(1, "ml.m5.large", assemble_with="Line", accept="text/csv")
    transformer.transform("s3://data/batch", content_type="text/csv", split_type="Line", logs=False)
    description = transformer.latest_transform_job.describe()
    assert description["TransformJobStatus"] == "Completed"
    assert description["ModelName"] == estimator.latest_training_job.name
    assert re.fullmatch(r"my-algo-\d{4}(-\d{2}){5}-\d{3}", transformer.latest_transform_job.name)
    assert transformer.output_path == f"s3://{session.default_bucket()}/{transformer.latest_transform_job.name}"

    predictor = estimator.deploy(1, "ml.m5.large", endpoint_name="ctx-endpoint")
    with predictor:
        assert isinstance(predictor, Predictor)
        assert session.describe_endpoint("ctx-endpoint")["EndpointStatus"] == "InService"
    with pytest.raises(AWSError):
        session.describe_endpoint("ctx-endpoint")


def test_aws_errors_over_http_are_ours(session):
    with pytest.raises(AWSError) as caught:
        session.describe_training_job("no-such-job")
    assert caught.value.operation_name == "DescribeTrainingJob"
    assert caught.value.request == {"TrainingJobName": "no-such-job"}
    with pytest.raises(AWSError) as caught:
        session.read_s3_file("no-such-bucket-here", "k")
    assert caught.value.code == "NoSuchBucket" and "create it" in str(caught.value)


def test_framework_model_repacks_code_into_model_tar_gz(session, code, tmp_path):
    import io
    import tarfile

    from framework_sdk.model import FrameworkModel

    class RepackingModel(FrameworkModel):
        _repack_code = True

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.npz")
        info.size = 7
        tar.addfile(info, io.BytesIO(b"weights"))
    bucket = session.default_bucket()
    session.s3_client.put_object(Bucket=bucket, Key="trained/model.tar.gz", Body=buffer.getvalue())
    model = RepackingModel(f"s3://{bucket}/trained/model.tar.gz", "img:1", ROLE, "train.py", source_dir=str(code),
                           name="repacked", sagemaker_session=session)
    model.deploy(1, "ml.m5.large")
    container = session.describe_model("repacked")["PrimaryContainer"]
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert container["ModelDataUrl"].startswith(f"s3://{bucket}/repacked/")
    key = container["ModelDataUrl"].split("/", 3)[3]
    body = session.s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert sorted(tar.getnames()) == ["code", "code/requirements.txt", "code/train.py", "model.npz"]
    Predictor("repacked", session).delete_endpoint()
    session.sagemaker_client.delete_model(ModelName="repacked")


def test_sklearn_fit_and_attach_against_moto(session, code):
    from framework_sdk.sklearn import SKLearn

    estimator = SKLearn("train.py", framework_version="1.9.1", source_dir=str(code), role=ROLE,
                        instance_type="ml.m5.large", hyperparameters={"max_leaf_nodes": 8},
                        sagemaker_session=session)
    estimator.fit({"train": "s3://whatever/train"}, job_name="sklearn-moto-job")
    description = session.sagemaker_client.describe_training_job(TrainingJobName="sklearn-moto-job")
    assert description["AlgorithmSpecification"]["TrainingImage"].endswith("/framework-sdk-sklearn:1.9.1-cpu-py3")
    assert description["HyperParameters"]["max_leaf_nodes"] == "8"
    attached = SKLearn.attach("sklearn-moto-job", sagemaker_session=session)
    assert type(attached) is SKLearn and attached.framework_version == "1.9.1"
    assert attached.entry_point == "train.py" and attached.hyperparameters()["max_leaf_nodes"] == "8"


def test_hyperparameter_tuning_job_over_http(session, code, capsys):
    from framework_sdk.tuner import CategoricalParameter, ContinuousParameter, HyperparameterTuner, IntegerParameter

    data = session.upload_data(str(code), key_prefix="tuning-data")
    estimator = Toy(entry_point="train.py", source_dir=str(code), role=ROLE, instance_count=1,
                    instance_type="ml.c5.xlarge", framework_version="7.8.1", sagemaker_session=session,
                    hyperparameters={"epochs": 2, "lr": 0.1})
    tuner = HyperparameterTuner(estimator, "validation:accuracy",
                                {"lr": ContinuousParameter(0.001, 0.1, "Logarithmic"), "units": IntegerParameter(8, 64),
                                 "optimizer": CategoricalParameter(["adam", "sgd"])},
                                metric_definitions=[{"Name": "validation:accuracy", "Regex": "accuracy: ([0-9.]+)"}],
                                max_jobs=6, max_parallel_jobs=2, random_seed=3, base_tuning_job_name="toy-tune")
    tuner.fit({"train": data})
    name = tuner.latest_tuning_job.name
    assert re.fullmatch(r"toy-tune-\d{6}-\d{6}-\d{3}", name)
    # moto stores what came over the wire and describes the job as Completed at once, with a made-up best job
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"[tuning] {name}: Completed - 1 completed")
    description = tuner.describe()
    config = description["HyperParameterTuningJobConfig"]
    assert config["ParameterRanges"]["CategoricalParameterRanges"] == [{"Name": "optimizer",
                                                                        "Values": ['"adam"', '"sgd"']}]
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2}
    assert config["RandomSeed"] == 3
    definition = description["TrainingJobDefinition"]
    assert "lr" not in definition["StaticHyperParameters"] and definition["StaticHyperParameters"]["epochs"] == "2"
    assert definition["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == data
    assert tuner.best_training_job() == description["BestTrainingJob"]["TrainingJobName"]

    attached = HyperparameterTuner.attach(name, sagemaker_session=session, estimator_cls=Toy)
    assert attached.hyperparameter_ranges() == tuner.hyperparameter_ranges()
    assert attached.estimator.source_dir == json.loads(definition["StaticHyperParameters"]["sagemaker_submit_directory"])
    listed = session.sagemaker_client.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    assert name in [summary["HyperParameterTuningJobName"] for summary in listed]
