"""Every request the client SDK builds, checked by botocore's Stubber against SageMaker's service model."""
import datetime
import io
import json
import logging

import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY

from framework_sdk import codecs
from framework_sdk.estimator import Estimator, Framework
from framework_sdk.exceptions import AWSError, ResponseContentTypeError
from framework_sdk.inputs import TrainingInput
from framework_sdk.model import FrameworkModel, Model
from framework_sdk.predictor import Predictor
from framework_sdk.serializers import CSVSerializer, JSONDeserializer, NumpyDeserializer, NumpySerializer
from framework_sdk.transformer import Transformer

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
ACCOUNT = "123456789012"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/framework-sdk-chainer:7.8.1-cpu-py3"


class Toy(Framework):
    """A framework estimator the way framework_sdk.chainer builds one."""

    _framework_name = "chainer"

    def __init__(self, *args, use_mpi=False, **kwargs):
        self.use_mpi = use_mpi
        super().__init__(*args, **kwargs)

    def _framework_hyperparameters(self):
        return {"sagemaker_mpi_enabled": self.use_mpi}

    @classmethod
    def _prepare_init_params_from_job_description(cls, job_details, model_channel_name=None):
        params = super()._prepare_init_params_from_job_description(job_details, model_channel_name)
        params["use_mpi"] = params["hyperparameters"].pop("sagemaker_mpi_enabled", False)
        return params


@pytest.fixture
def source(tmp_path):
    code = tmp_path / "src"
    code.mkdir()
    (code / "train.py").write_text("print('training')\n")
    (code / "requirements.txt").write_text("chainer\n")
    return code


def _job_description(name, status="Completed", hyperparameters=None, image=IMAGE, **extra):
    description = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:training-job/{name}",
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "s3://out-bucket/"},
        "ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": NOW,
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://out-bucket/{name}/output/model.tar.gz"},
        "HyperParameters": hyperparameters or {},
    }
    description.update(extra)
    return description


def _stub_sts(stubs):
    stubs.sts.add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/me",
                                                   "UserId": "AIDA"}, {})


def test_framework_fit_sends_a_valid_create_training_job(aws_stubs, source):
    estimator = Toy(entry_point="train.py", source_dir=str(source), role=ROLE, instance_count=2,
                    instance_type="ml.c5.xlarge", framework_version="7.8.1", output_path="s3://out-bucket/",
                    hyperparameters={"epochs": 3, "lr": 0.1, "name": "x"}, use_mpi=True,
                    container_log_level=logging.DEBUG, base_job_name="toy", tags={"team": "ml"},
                    sagemaker_session=aws_stubs.session)
    _stub_sts(aws_stubs)
    aws_stubs.s3.add_client_error("head_object", "404", "Not Found", 404,
                                  expected_params={"Bucket": "out-bucket", "Key": ANY})
    aws_stubs.s3.add_response("put_object", {"ETag": '"x"'},
                              {"Bucket": "out-bucket", "Key": ANY, "Body": ANY, "Metadata": {"sha256": ANY},
                               "ChecksumAlgorithm": ANY})
    sent = {}

    def capture(request):
        sent.update(request)
        return True

    aws_stubs.sagemaker.add_response("create_training_job", {"TrainingJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:training-job/x"}, {
        "TrainingJobName": ANY,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [
            {"ChannelName": "training", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": "s3://data/train", "S3DataDistributionType": "FullyReplicated"}}},
            {"ChannelName": "test", "ContentType": "text/csv", "CompressionType": "Gzip", "InputMode": "Pipe",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/test",
                                             "S3DataDistributionType": "ShardedByS3Key"}}},
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://out-bucket/"},
        "ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "HyperParameters": ANY,
        "Tags": [{"Key": "team", "Value": "ml"}],
    })
    estimator.fit({"training": "s3://data/train",
                   "test": TrainingInput("s3://data/test", distribution="ShardedByS3Key", content_type="text/csv",
                                         compression="Gzip", input_mode="Pipe")}, wait=False)
    aws_stubs.sagemaker.assert_no_pending_responses()
    aws_stubs.s3.assert_no_pending_responses()
    job = estimator.latest_training_job.name
    assert job.startswith("toy-") and len(job) <= 63
    hps = estimator.hyperparameters()
    assert {k: json.loads(v) for k, v in hps.items()} == {
        "epochs": 3, "lr": 0.1, "name": "x", "sagemaker_mpi_enabled": True,
        "sagemaker_program": "train.py", "sagemaker_container_log_level": logging.DEBUG,
        "sagemaker_job_name": job, "sagemaker_region": "us-west-2",
        "sagemaker_submit_directory": estimator._code_uri}
    assert hps["name"] == '"x"'
    assert estimator._code_uri.startswith("s3://out-bucket/toy/source/")
    assert estimator._code_uri.endswith("/sourcedir.tar.gz")


def test_sourcedir_with_same_content_is_not_uploaded_again(aws_stubs, source):
    estimator = Toy(entry_point="train.py", source_dir=str(source), role=ROLE, instance_count=1,
                    instance_type="ml.m5.large", image_uri=IMAGE, output_path="s3://out-bucket/",
                    sagemaker_session=aws_stubs.session)
    from framework_sdk.packaging import pack_sourcedir

    with pack_sourcedir("train.py", str(source)) as archive:
        digest = archive.sha256
    aws_stubs.s3.add_response("head_object", {"Metadata": {"sha256": digest}, "ContentLength": 10},
                              {"Bucket": "out-bucket", "Key": f"framework-sdk-chainer/source/{digest[:16]}/sourcedir.tar.gz"})
    aws_stubs.sagemaker.add_response("create_training_job", {"TrainingJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:training-job/x"}, None)
    estimator.fit("s3://data/train", wait=False)
    aws_stubs.s3.assert_no_pending_responses()  # head_object only: no put_object
    assert estimator._code_uri.endswith(f"{digest[:16]}/sourcedir.tar.gz")


def test_plain_estimator_fit_wait_streams_logs_and_completes(aws_stubs, capsys):
    estimator = Estimator(IMAGE, ROLE, 1, "ml.m5.large", output_path="s3://out/", hyperparameters={"a": 1},
                          environment={"MODE": "fast"}, max_run=600, use_spot_instances=True, max_wait=1200,
                          checkpoint_s3_uri="s3://out/checkpoints", subnets=["subnet-1"],
                          security_group_ids=["sg-1"], metric_definitions=[{"Name": "loss", "Regex": "loss=(.*)"}],
                          sagemaker_session=aws_stubs.session)
    aws_stubs.sagemaker.add_response("create_training_job", {"TrainingJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:training-job/x"}, {
        "TrainingJobName": ANY,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                   "MetricDefinitions": [{"Name": "loss", "Regex": "loss=(.*)"}]},
        "RoleArn": ROLE,
        "InputDataConfig": ANY,
        "OutputDataConfig": {"S3OutputPath": "s3://out/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 1200},
        "HyperParameters": {"a": "1"},
        "Environment": {"MODE": "fast"},
        "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
        "EnableManagedSpotTraining": True,
        "CheckpointConfig": {"S3Uri": "s3://out/checkpoints"},
    })
    job_name = "my-job-1"
    for status in ("InProgress", "Completed"):
        aws_stubs.sagemaker.add_response("describe_training_job", _job_description(job_name, status),
                                         {"TrainingJobName": job_name})
        aws_stubs.logs.add_response(
            "describe_log_streams", {"logStreams": [{"logStreamName": f"{job_name}/algo-1-1700000000"}]},
            {"logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamNamePrefix": job_name + "/"})
        aws_stubs.logs.add_response(
            "get_log_events", {"events": [{"timestamp": 1, "message": f"step {status}"}],
                               "nextForwardToken": f"f/{status}"},
            {"logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamName": f"{job_name}/algo-1-1700000000",
             "startFromHead": True, **({"nextToken": "f/InProgress"} if status == "Completed" else {})})
        aws_stubs.logs.add_response("get_log_events", {"events": [], "nextForwardToken": f"f/{status}"}, None)
    estimator.fit({"training": "s3://data/train"}, job_name=job_name)
    name_holder = {"name": job_name}
    out = capsys.readouterr().out
    assert "[algo-1] step InProgress" in out and "[algo-1] step Completed" in out
    assert f"{name_holder['name']}: Completed" in out
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_attach_restores_framework_parameters(aws_stubs):
    name = "toy-2026-01-01-00-00-00-000"
    hps = {"epochs": "3", "sagemaker_program": '"train.py"', "sagemaker_mpi_enabled": "true",
           "sagemaker_submit_directory": '"s3://out-bucket/toy/source/abc/sourcedir.tar.gz"',
           "sagemaker_container_log_level": "10", "sagemaker_job_name": json.dumps(name),
           "sagemaker_region": '"us-west-2"'}
    aws_stubs.sagemaker.add_response("describe_training_job", _job_description(name, hyperparameters=hps),
                                     {"TrainingJobName": name})
    estimator = Toy.attach(name, sagemaker_session=aws_stubs.session)
    assert estimator.entry_point == "train.py"
    assert estimator.source_dir == "s3://out-bucket/toy/source/abc/sourcedir.tar.gz"
    assert estimator.container_log_level == 10
    assert estimator.use_mpi is True
    assert (estimator.framework_version, estimator.py_version, estimator.image_uri) == ("7.8.1", "py3", None)
    assert estimator._hyperparameters == {"epochs": 3}
    assert (estimator.instance_count, estimator.instance_type, estimator.base_job_name) == (2, "ml.c5.xlarge", "toy")
    assert estimator.latest_training_job.name == name
    aws_stubs.sagemaker.add_response("describe_training_job", _job_description(name), {"TrainingJobName": name})
    assert estimator.model_data == f"s3://out-bucket/{name}/output/model.tar.gz"


def _queue_deploy(stubs, model_name, endpoint, env=None, model_data=None):
    container = {"Image": IMAGE}
    if model_data:
        container["ModelDataUrl"] = model_data
    if env is not None:
        container["Environment"] = env
    stubs.sagemaker.add_response("create_model", {"ModelArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:model/m"},
                                 {"ModelName": model_name, "PrimaryContainer": container, "ExecutionRoleArn": ROLE})
    stubs.sagemaker.add_response("create_endpoint_config", {"EndpointConfigArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint-config/c"}, {
        "EndpointConfigName": endpoint,
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model_name, "InitialInstanceCount": 1,
                                "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}]})
    stubs.sagemaker.add_response("create_endpoint", {"EndpointArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint/e"},
                                 {"EndpointName": endpoint, "EndpointConfigName": endpoint})
    stubs.sagemaker.add_response("describe_endpoint", {
        "EndpointName": endpoint, "EndpointArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint/e", "EndpointConfigName": endpoint,
        "EndpointStatus": "InService", "CreationTime": NOW, "LastModifiedTime": NOW}, {"EndpointName": endpoint})


def test_model_deploy_sends_create_model_config_endpoint(aws_stubs):
    model = Model(IMAGE, "s3://b/model.tar.gz", ROLE, env={"A": "1"}, name="my-model",
                  sagemaker_session=aws_stubs.session)
    _queue_deploy(aws_stubs, "my-model", "my-endpoint", env={"A": "1"}, model_data="s3://b/model.tar.gz")
    predictor = model.deploy(1, "ml.m5.large", endpoint_name="my-endpoint", serializer=CSVSerializer())
    aws_stubs.sagemaker.assert_no_pending_responses()
    assert isinstance(predictor, Predictor) and predictor.endpoint_name == "my-endpoint"
    assert predictor.content_type == "text/csv"


def test_framework_model_ships_code_and_sets_sagemaker_env(aws_stubs, source):
    model = FrameworkModel("s3://b/model.tar.gz", IMAGE, ROLE, "train.py", source_dir=str(source), name="fw-model",
                           sagemaker_session=aws_stubs.session, env={"EXTRA": "yes"})
    aws_stubs.s3.add_client_error("head_object", "404", "Not Found", 404)
    aws_stubs.s3.add_response("put_object", {"ETag": '"x"'}, None)
    env = {"SAGEMAKER_PROGRAM": "train.py", "SAGEMAKER_SUBMIT_DIRECTORY": ANY,
           "SAGEMAKER_CONTAINER_LOG_LEVEL": "20", "SAGEMAKER_REGION": "us-west-2", "EXTRA": "yes"}
    _queue_deploy(aws_stubs, "fw-model", "fw-model", env=env, model_data="s3://b/model.tar.gz")
    model.deploy(1, "ml.m5.large")
    aws_stubs.sagemaker.assert_no_pending_responses()
    aws_stubs.s3.assert_no_pending_responses()


def test_estimator_deploy_names_each_endpoint_afresh_from_the_base_job_name(aws_stubs, monkeypatch):
    from framework_sdk import naming

    name = "img-2026-01-01-00-00-00-000"
    aws_stubs.sagemaker.add_response("describe_training_job", _job_description(name), {"TrainingJobName": name})
    estimator = Estimator.attach(name, sagemaker_session=aws_stubs.session)
    stamps = iter(["2026-02-02-00-00-00-001", "2026-02-02-00-00-00-002"])
    monkeypatch.setattr(naming, "timestamp", lambda now=None: next(stamps))
    for expected in ("img-2026-02-02-00-00-00-001", "img-2026-02-02-00-00-00-002"):
        # deploying twice makes two endpoints, as in SageMaker v2
        for _ in range(2):  # status check, then model_data
            aws_stubs.sagemaker.add_response("describe_training_job", _job_description(name), {"TrainingJobName": name})
        _queue_deploy(aws_stubs, expected, expected, model_data=f"s3://out-bucket/{name}/output/model.tar.gz")
        assert estimator.deploy(1, "ml.m5.large").endpoint_name == expected
    aws_stubs.sagemaker.assert_no_pending_responses()


def _body(data):
    data = bytes(data)
    return StreamingBody(io.BytesIO(data), len(data))


class SameBytes:
    """Matches a request body (bytes, or a file body such as NumpySerializer's ChunkedBody) by its bytes."""

    def __init__(self, expected):
        self.expected = bytes(expected)

    def __eq__(self, other):
        return bytes(other) == self.expected

    def __repr__(self):
        return f"SameBytes({self.expected[:20]!r}...)"


def test_predictor_invoke_endpoint_roundtrip_and_content_type_check(aws_stubs):
    predictor = Predictor("ep", aws_stubs.session, serializer=NumpySerializer(), deserializer=NumpyDeserializer())
    array = np.arange(6, dtype="float32").reshape(2, 3)
    aws_stubs.sagemaker_runtime.add_response(
        "invoke_endpoint", {"Body": _body(codecs.npy_encode(array * 2)), "ContentType": "application/x-npy"},
        {"EndpointName": "ep", "Body": SameBytes(codecs.npy_encode(array)), "ContentType": "application/x-npy",
         "Accept": "application/x-npy"})
    np.testing.assert_array_equal(predictor.predict(array), array * 2)

    aws_stubs.sagemaker_runtime.add_response(
        "invoke_endpoint", {"Body": _body(b"1,2\n"), "ContentType": "text/csv"},
        {"EndpointName": "ep", "Body": ANY, "ContentType": "application/x-npy", "Accept": "application/x-npy",
         "CustomAttributes": "c=1"})
    with pytest.raises(ResponseContentTypeError, match="text/csv.*application/x-npy"):
        predictor.predict(array, custom_attributes="c=1")

    aws_stubs.sagemaker_runtime.add_response(
        "invoke_endpoint", {"Body": _body(b'{"a": [1, 2]}'), "ContentType": "application/json"},
        {"EndpointName": "ep", "Body": ANY, "ContentType": "application/x-npy", "Accept": "application/json"})
    predictor.deserializer = JSONDeserializer()
    assert predictor.predict(array) == {"a": [1, 2]}
    aws_stubs.sagemaker_runtime.assert_no_pending_responses()


def test_predictor_context_manager_deletes_endpoint_then_models(aws_stubs):
    aws_stubs.sagemaker.add_response("describe_endpoint", {
        "EndpointName": "ep", "EndpointArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint/e", "EndpointConfigName": "ep-config",
        "EndpointStatus": "InService", "CreationTime": NOW, "LastModifiedTime": NOW}, {"EndpointName": "ep"})
    aws_stubs.sagemaker.add_response("describe_endpoint_config", {
        "EndpointConfigName": "ep-config", "EndpointConfigArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint-config/c", "CreationTime": NOW,
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m1"}]}, {"EndpointConfigName": "ep-config"})
    aws_stubs.sagemaker.add_response("delete_endpoint", {}, {"EndpointName": "ep"})
    aws_stubs.sagemaker.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "ep-config"})
    aws_stubs.sagemaker.add_response("delete_model", {}, {"ModelName": "m1"})
    with Predictor("ep", aws_stubs.session) as predictor:
        pass
    predictor.delete_model()
    aws_stubs.sagemaker.assert_no_pending_responses()

    aws_stubs.sagemaker.add_response("delete_endpoint", {}, {"EndpointName": "ep2"})
    with Predictor("ep2", aws_stubs.session) as predictor:
        predictor.delete_endpoint(delete_endpoint_config=False)  # leaving the block deletes nothing twice
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_transformer_sends_a_valid_create_transform_job(aws_stubs):
    transformer = Transformer("my-model", 2, "ml.m5.large", strategy="MultiRecord", assemble_with="Line",
                              output_path="s3://out/batch", accept="text/csv", max_concurrent_transforms=4,
                              max_payload=6, env={"K": "v"}, sagemaker_session=aws_stubs.session)
    aws_stubs.sagemaker.add_response("create_transform_job", {"TransformJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:transform-job/t"}, {
        "TransformJobName": ANY, "ModelName": "my-model",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in/batch"}},
                           "ContentType": "text/csv", "SplitType": "Line", "CompressionType": "None"},
        "TransformOutput": {"S3OutputPath": "s3://out/batch", "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceCount": 2, "InstanceType": "ml.m5.large"},
        "BatchStrategy": "MultiRecord", "MaxConcurrentTransforms": 4, "MaxPayloadInMB": 6,
        "Environment": {"K": "v"},
        "DataProcessing": {"InputFilter": "$[1:]", "OutputFilter": "$[-1]", "JoinSource": "Input"}})
    transformer.transform("s3://in/batch", content_type="text/csv", split_type="Line", compression_type="None",
                          input_filter="$[1:]", output_filter="$[-1]", join_source="Input", wait=False)
    aws_stubs.sagemaker.assert_no_pending_responses()
    assert transformer.latest_transform_job.name.startswith("my-model-")


def test_transformer_attach(aws_stubs):
    aws_stubs.sagemaker.add_response("describe_transform_job", {
        "TransformJobName": "t-2026-01-01-00-00-00-000", "TransformJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:transform-job/t", "TransformJobStatus": "Completed",
        "ModelName": "m", "CreationTime": NOW,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in"}}},
        "TransformOutput": {"S3OutputPath": "s3://out", "AssembleWith": "Line"},
        "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.large"}},
        {"TransformJobName": "t-2026-01-01-00-00-00-000"})
    transformer = Transformer.attach("t-2026-01-01-00-00-00-000", aws_stubs.session)
    assert (transformer.model_name, transformer.assemble_with, transformer.base_transform_job_name) == ("m", "Line", "t")


# moto does not implement StopTrainingJob / StopTransformJob: the Stubber covers them.
def test_stop_training_job(aws_stubs):
    name = "img-2026-01-01-00-00-00-000"
    aws_stubs.sagemaker.add_response("describe_training_job", _job_description(name), {"TrainingJobName": name})
    estimator = Estimator.attach(name, sagemaker_session=aws_stubs.session)
    aws_stubs.sagemaker.add_response("stop_training_job", {}, {"TrainingJobName": name})
    estimator.stop_training_job()
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_stop_transform_job_waits_for_stopped(aws_stubs):
    transformer = Transformer("m", 1, "ml.m5.large", output_path="s3://o/p", sagemaker_session=aws_stubs.session)
    aws_stubs.sagemaker.add_response("create_transform_job", {"TransformJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:transform-job/t"}, None)
    transformer.transform("s3://in/x", job_name="t-1", wait=False)
    aws_stubs.sagemaker.add_response("stop_transform_job", {}, {"TransformJobName": "t-1"})
    aws_stubs.sagemaker.add_response("describe_transform_job", {
        "TransformJobName": "t-1", "TransformJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:transform-job/t-1",
        "TransformJobStatus": "Stopped", "ModelName": "m", "CreationTime": NOW,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in/x"}}},
        "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.large"}}, {"TransformJobName": "t-1"})
    transformer.stop_transform_job()
    aws_stubs.sagemaker.assert_no_pending_responses()


def test_existing_model_is_reused(aws_stubs):
    model = Model(IMAGE, "s3://b/model.tar.gz", ROLE, name="taken", sagemaker_session=aws_stubs.session)
    aws_stubs.sagemaker.add_client_error("create_model", "ValidationException",
                                         'Cannot create already existing model "arn:aws:sagemaker:x:model/taken".')
    assert model._create_sagemaker_model("ml.m5.large") == "taken"
    aws_stubs.sagemaker.add_client_error("create_model", "ValidationException", "bad image")
    model._created_name = None
    with pytest.raises(AWSError, match="bad image"):
        model._create_sagemaker_model("ml.m5.large")


def test_attach_to_a_running_job_streams_its_logs_until_it_ends(aws_stubs, capsys):
    name = "img-2026-01-01-00-00-00-000"
    aws_stubs.sagemaker.add_response("describe_training_job", _job_description(name, "InProgress"),
                                     {"TrainingJobName": name})
    aws_stubs.sagemaker.add_response("describe_training_job", _job_description(name, "Completed"),
                                     {"TrainingJobName": name})
    aws_stubs.logs.add_response("describe_log_streams", {"logStreams": [{"logStreamName": f"{name}/algo-1-1700000000"}]},
                                {"logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamNamePrefix": name + "/"})
    aws_stubs.logs.add_response("get_log_events", {"events": [{"timestamp": 5, "message": "last epoch"}],
                                                   "nextForwardToken": "t1"}, None)
    aws_stubs.logs.add_response("get_log_events", {"events": [], "nextForwardToken": "t1"}, None)
    estimator = Estimator.attach(name, sagemaker_session=aws_stubs.session)
    assert capsys.readouterr().out.splitlines() == ["[algo-1] last epoch", f"{name}: Completed"]
    assert estimator.image_uri == IMAGE and estimator.hyperparameters() == {}
    aws_stubs.sagemaker.assert_no_pending_responses()
    aws_stubs.logs.assert_no_pending_responses()
