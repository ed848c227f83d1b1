"""SageMaker Python SDK v2 scripts run unchanged, and bad requests stop before they are sent (Stubber-checked).

The Stubbers of ``aws_stubs`` have nothing queued unless a test queues it, so any request
that was not expected fails the test instead of raising the error under test.
"""
import datetime
import io
import os

import boto3
import pytest
from botocore.stub import ANY

from framework_sdk.estimator import Estimator, Framework
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.model import FrameworkModel, Model
from framework_sdk.serializers import (CSVDeserializer, CSVSerializer, JSONDeserializer, NumpyDeserializer,
                                       StringDeserializer)
from framework_sdk.session import Session

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
ACCOUNT = "123456789012"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-algo:1"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


class Toy(Framework):
    _framework_name = "chainer"


def _estimator(session, **kwargs):
    arguments = dict(image_uri=IMAGE, role=ROLE, instance_count=1, instance_type="ml.m5.large",
                     output_path="s3://out/", sagemaker_session=session)
    arguments.update(kwargs)
    return Estimator(**arguments)


def test_retry_keep_alive_and_metrics_reach_the_request_and_come_back_with_attach(aws_stubs):
    estimator = _estimator(aws_stubs.session, max_retry_attempts=3, keep_alive_period_in_seconds=600,
                           enable_sagemaker_metrics=True, debugger_hook_config=False, disable_profiler=True)
    aws_stubs.sagemaker.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:x:training-job/j"}, {
        "TrainingJobName": "retry-job",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                   "EnableSageMakerMetricsTimeSeries": True},
        "RoleArn": ROLE,
        "InputDataConfig": ANY,
        "OutputDataConfig": {"S3OutputPath": "s3://out/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30,
                           "KeepAlivePeriodInSeconds": 600},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "RetryStrategy": {"MaximumRetryAttempts": 3},
    })
    estimator.fit("s3://data/train", wait=False, job_name="retry-job")
    aws_stubs.sagemaker.assert_no_pending_responses()

    aws_stubs.sagemaker.add_response("describe_training_job", {
        "TrainingJobName": "retry-job", "TrainingJobArn": "arn:aws:sagemaker:x:training-job/retry-job",
        "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed", "CreationTime": NOW, "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                   "EnableSageMakerMetricsTimeSeries": True},
        "OutputDataConfig": {"S3OutputPath": "s3://out/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30,
                           "KeepAlivePeriodInSeconds": 600},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400}, "RetryStrategy": {"MaximumRetryAttempts": 3},
        "ModelArtifacts": {"S3ModelArtifacts": "s3://out/retry-job/output/model.tar.gz"}},
        {"TrainingJobName": "retry-job"})
    attached = Estimator.attach("retry-job", sagemaker_session=aws_stubs.session)
    assert (attached.max_retry_attempts, attached.keep_alive_period_in_seconds,
            attached.enable_sagemaker_metrics) == (3, 600, True)


@pytest.mark.parametrize("kwargs, message", [
    ({"debugger_hook_config": {"S3OutputPath": "s3://x"}}, "debugger_hook_config=False"),
    ({"max_retry_attempts": 0}, "max_retry_attempts must be an integer from 1 to 30"),
    ({"keep_alive_period_in_seconds": 7200}, "from 0 to 3600"),
])
def test_unsupported_or_out_of_range_options_are_refused(aws_stubs, kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        _estimator(aws_stubs.session, **kwargs)


@pytest.mark.parametrize("hyperparameters, message", [
    ({"config": "x" * 2501}, r"'config' is 250\d characters once encoded; SageMaker takes at most 2500"),
    ({"k" * 257: 1}, "is 257 characters; SageMaker takes at most 256"),
    ({f"h{index}": index for index in range(101)}, "101 hyperparameters; SageMaker takes at most 100"),
])
def test_hyperparameters_sagemaker_would_refuse_stop_before_any_request(aws_stubs, tmp_path, hyperparameters,
                                                                        message):
    with pytest.raises(ConfigurationError, match=message):
        _estimator(aws_stubs.session, hyperparameters=hyperparameters).fit("s3://data/train", wait=False)
    (tmp_path / "train.py").write_text("pass\n")
    framework = Toy(entry_point="train.py", source_dir=str(tmp_path), role=ROLE, instance_count=1,
                    instance_type="ml.m5.large", framework_version="7.8.1", output_path="s3://out/",
                    hyperparameters=hyperparameters, sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match=message):  # and no sourcedir.tar.gz was uploaded
        framework.fit("s3://data/train", wait=False)


def test_a_request_that_does_not_fit_the_service_model_is_our_error(aws_stubs):
    aws_stubs.sagemaker.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:x:training-job/t"},
                                     None)  # lets the call reach botocore's validation
    with pytest.raises(ConfigurationError) as caught:
        _estimator(aws_stubs.session, volume_size="30").fit("s3://data/train", wait=False, job_name="typed")
    with pytest.raises(AssertionError):  # the queued response was never used: nothing was sent
        aws_stubs.sagemaker.assert_no_pending_responses()
    message = str(caught.value)
    assert "CreateTrainingJob (TrainingJobName='typed')" in message
    assert "ResourceConfig.VolumeSizeInGB" in message and "fix the argument" in message


def test_no_credentials_is_a_clear_error_before_any_request(monkeypatch):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = Session(boto_session=boto3.Session(region_name="us-west-2"))
    with pytest.raises(ConfigurationError, match="needs AWS credentials and none were found: run `aws configure`"):
        _estimator(session).fit("s3://data/train", wait=False)


def test_transform_job_of_a_model_named_after_its_training_job_has_one_timestamp(aws_stubs):
    from framework_sdk.transformer import Transformer

    transformer = Transformer("toy-2026-01-01-00-00-00-000", 1, "ml.m5.large", output_path="s3://out/batch",
                              sagemaker_session=aws_stubs.session)
    aws_stubs.sagemaker.add_response("create_transform_job", {"TransformJobArn": "arn:aws:sagemaker:x:transform-job/t"},
                                     None)
    transformer.transform("s3://in/batch", wait=False)
    name = transformer.latest_transform_job.name
    assert name.startswith("toy-2") and name.count("-2026-") == 1 and len(name) <= 63


def test_missing_dependency_is_refused_at_construction(aws_stubs, tmp_path):
    (tmp_path / "train.py").write_text("pass\n")
    with pytest.raises(ConfigurationError, match="dependency 'no-such-lib' does not exist"):
        Toy(entry_point="train.py", source_dir=str(tmp_path), dependencies=["no-such-lib"], role=ROLE,
            instance_count=1, instance_type="ml.m5.large", framework_version="7.8.1",
            sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="dependency 'no-such-lib' does not exist"):
        FrameworkModel("s3://b/model.tar.gz", IMAGE, ROLE, "train.py", source_dir=str(tmp_path),
                       dependencies=["no-such-lib"], sagemaker_session=aws_stubs.session)


def test_file_uri_model_data_outside_local_mode_says_so(aws_stubs):
    model = Model(IMAGE, "file:///tmp/model.tar.gz", ROLE, sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="only local mode can read.*instance_type='local'"):
        model.deploy(1, "ml.m5.large")


@pytest.mark.parametrize("data, body", [
    ([["a", "b"], ["c", "d,e"]], b'a,b\nc,"d,e"\n'),
    ([1.5, "x"], b"1.5,x\n"),
    ([[1, 2], [3]], b"1,2\n3\n"),
    ([[1, 2], [3, 4]], b"1,2\n3,4\n"),
])
def test_csv_serializer_writes_text_and_uneven_rows_like_sagemaker(data, body):
    assert CSVSerializer().serialize(data) == body
    rows = CSVDeserializer().deserialize(io.BytesIO(body), "text/csv")
    assert rows == [[str(value) for value in row] for row in (data if isinstance(data[0], list) else [data])]


@pytest.mark.parametrize("empty", [[], [[]]])
def test_csv_serializer_refuses_empty_data(empty):
    with pytest.raises(ValueError, match="cannot send empty data"):
        CSVSerializer().serialize(empty)


def test_deserializer_accept_is_what_was_given_and_ACCEPT_a_tuple():
    assert JSONDeserializer().accept == "application/json" and JSONDeserializer().ACCEPT == ("application/json",)
    assert CSVDeserializer(accept="text/plain").accept == "text/plain"
    assert StringDeserializer().ACCEPT == ("application/json",)
    several = NumpyDeserializer(accept=("application/x-npy", "application/json"))
    assert several.accept == several.ACCEPT == ("application/x-npy", "application/json")


@pytest.mark.parametrize("kwargs", [{"model_name": "my_model"}, {"endpoint_name": "end point"}])
def test_bad_names_for_deploy_are_refused_before_any_request(aws_stubs, kwargs):
    estimator = _estimator(aws_stubs.session)
    from framework_sdk.jobs import TrainingJob

    estimator.latest_training_job = TrainingJob(aws_stubs.session, "job-2026-01-01-00-00-00-000")
    what = next(iter(kwargs))
    with pytest.raises(ConfigurationError, match=f"{what} .* is not valid for SageMaker"):
        estimator.deploy(1, "ml.m5.large", **kwargs)


@pytest.mark.parametrize("channel", ["a" * 65, "tr ain", "données", ""])
def test_channel_names_sagemaker_refuses_are_refused_before_any_request(aws_stubs, channel):
    with pytest.raises(ConfigurationError, match="use 1 to 64 letters, digits"):
        _estimator(aws_stubs.session).fit({channel: "s3://data/train"}, wait=False)


def test_v2_module_names_port_by_changing_the_package_name():
    import importlib

    for module, names in {"estimator": ["Estimator", "Framework", "EstimatorBase"], "inputs": ["TrainingInput"],
                          "model": ["Model", "FrameworkModel"], "predictor": ["Predictor"],
                          "transformer": ["Transformer"], "session": ["Session"],
                          "serializers": ["CSVSerializer", "JSONSerializer", "NumpySerializer", "IdentitySerializer",
                                          "JSONLinesSerializer"],
                          "deserializers": ["JSONDeserializer", "CSVDeserializer", "NumpyDeserializer",
                                            "BytesDeserializer", "StringDeserializer", "StreamDeserializer",
                                            "JSONLinesDeserializer"],
                          "exceptions": ["UnexpectedStatusException"]}.items():
        loaded = importlib.import_module(f"framework_sdk.{module}")
        assert all(hasattr(loaded, name) for name in names), module


def test_framework_hyperparameters_take_numpy_values_and_refuse_what_has_no_json_form(aws_stubs, tmp_path):
    import numpy as np

    (tmp_path / "train.py").write_text("pass\n")
    framework = Toy(entry_point="train.py", source_dir=str(tmp_path), role=ROLE, instance_count=1,
                    instance_type="ml.m5.large", framework_version="7.8.1", sagemaker_session=aws_stubs.session,
                    hyperparameters={"lr": np.float32(0.5), "layers": np.array([2, 3]), "epochs": np.int64(3)})
    assert framework.hyperparameters() == {"lr": "0.5", "layers": "[2, 3]", "epochs": "3"}
    framework.set_hyperparameters(callback=object())
    with pytest.raises(ConfigurationError, match="hyperparameter 'callback' is a object, which has no JSON form"):
        framework.hyperparameters()
