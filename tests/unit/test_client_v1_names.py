"""SageMaker Python SDK v1 names, as published notebooks use them: renamed ones work with a warning
naming the v2 argument; removed ones fail saying what replaces them. Requests are validated against
botocore's service model (no request leaves the machine)."""
import json
import logging
import warnings

import pytest

from framework_sdk import Estimator, Model, Predictor, sdk_v1
from framework_sdk.chainer import Chainer
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.packaging import pack_sourcedir

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/framework-sdk-chainer:7.8.1-cpu-py3"
V1_ARGUMENTS = {"train_instance_count": 2, "train_instance_type": "ml.c5.xlarge", "train_volume_size": 50,
                "train_max_run": 3600, "train_use_spot_instances": True, "train_max_wait": 7200,
                "train_volume_kms_key": "alias/volume"}


@pytest.fixture
def source_dir(tmp_path):
    (tmp_path / "chainer_mnist.py").write_text("print('training')\n")
    return str(tmp_path)


def training_request(stubs, estimator, source_dir):
    """The CreateTrainingJob request ``fit`` sends (checked by botocore's Stubber)."""
    with pack_sourcedir(estimator.entry_point, source_dir) as archive:
        stubs.s3.add_response("head_object", {"Metadata": {"sha256": archive.sha256}})
    captured = {}
    stubs.sagemaker.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:job/x"})
    stubs.clients["sagemaker"].meta.events.register("before-parameter-build.sagemaker.CreateTrainingJob",
                                                    lambda params, **_: captured.update(params))
    estimator.fit("s3://bucket/train", wait=False, job_name="chainer-v1-names")
    return captured


def test_a_v1_notebooks_chainer_arguments_reach_the_request(aws_stubs, source_dir):
    with pytest.warns(DeprecationWarning) as caught:
        estimator = Chainer(entry_point="chainer_mnist.py", source_dir=source_dir, role=ROLE,
                            framework_version="7.8.1", output_path="s3://bucket/output",
                            sagemaker_session=aws_stubs.session, image_name=IMAGE, **V1_ARGUMENTS)
    messages = [str(warning.message) for warning in caught]
    for old, new in {**sdk_v1.ESTIMATOR_RENAMED, **sdk_v1.FRAMEWORK_RENAMED}.items():
        assert f"the argument {old} was renamed {new} in SageMaker Python SDK v2; it works, but use {new} " \
               f"instead" in messages
    assert {warning.filename for warning in caught} == {__file__}  # attributed to the caller's line
    request = training_request(aws_stubs, estimator, source_dir)
    assert request["ResourceConfig"] == {"InstanceCount": 2, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 50,
                                         "VolumeKmsKeyId": "alias/volume"}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert request["EnableManagedSpotTraining"] is True
    assert request["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert json.loads(request["HyperParameters"]["sagemaker_use_mpi"]) is True  # 2 instances


def test_the_generic_estimator_takes_them_too(aws_stubs):
    with pytest.warns(DeprecationWarning) as caught:
        estimator = Estimator(IMAGE, ROLE, train_instance_count=1, train_instance_type="ml.m5.large",
                              sagemaker_session=aws_stubs.session)
    assert [str(warning.message).split(" was")[0] for warning in caught] == [
        "the argument train_instance_count", "the argument train_instance_type"]
    assert (estimator.instance_count, estimator.instance_type) == (1, "ml.m5.large")


def test_each_name_is_logged_once(aws_stubs, caplog, monkeypatch):
    monkeypatch.setattr(sdk_v1, "_logged", set())
    with caplog.at_level(logging.WARNING, logger="framework_sdk"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            Estimator(IMAGE, ROLE, train_instance_count=1, train_instance_type="ml.m5.large",
                      sagemaker_session=aws_stubs.session)
    assert [record.getMessage().split(" was")[0] for record in caplog.records] == [
        "the argument train_instance_count", "the argument train_instance_type"]


def test_both_names_of_one_argument_are_refused(aws_stubs):
    with pytest.raises(ConfigurationError, match="train_instance_count and instance_count name the same argument"):
        Estimator(IMAGE, ROLE, instance_count=1, train_instance_count=2, instance_type="ml.m5.large",
                  sagemaker_session=aws_stubs.session)


def test_names_v2_never_had_stay_type_errors(aws_stubs):
    with pytest.raises(TypeError, match="train_instance_typo"):
        Estimator(IMAGE, ROLE, instance_count=1, instance_type="ml.m5.large", train_instance_typo="x",
                  sagemaker_session=aws_stubs.session)


def test_removed_v1_names_say_what_replaces_them(aws_stubs, source_dir):
    estimator = Chainer("chainer_mnist.py", source_dir=source_dir, role=ROLE, instance_count=1,
                        instance_type="ml.c5.xlarge", framework_version="7.8.1", sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match=r"delete_endpoint\(\) was removed .* on the predictor that deploy"):
        estimator.delete_endpoint()
    with pytest.raises(ConfigurationError, match="update_endpoint was removed .* deploy again"):
        estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large", update_endpoint=True)
    with pytest.raises(ConfigurationError, match="update_endpoint was removed"):
        Model(IMAGE, "s3://bucket/model.tar.gz", ROLE, sagemaker_session=aws_stubs.session).deploy(
            initial_instance_count=1, instance_type="ml.m5.large", update_endpoint=True)
    for name in ("serializer", "content_type"):
        with pytest.raises(ConfigurationError, match=f"{name} was removed .* to deploy"):
            estimator.create_model(**{name: object()})
    with pytest.raises(ConfigurationError, match="enable_cloudwatch_metrics was removed"):
        Chainer("chainer_mnist.py", source_dir=source_dir, role=ROLE, instance_count=1, instance_type="ml.c5.xlarge",
                framework_version="7.8.1", sagemaker_session=aws_stubs.session, enable_cloudwatch_metrics=True)
    with pytest.raises(ConfigurationError, match="content_type was removed .* serializer="):
        Predictor("my-endpoint", aws_stubs.session, content_type="text/csv")


def test_the_predictors_endpoint_argument_and_attribute(aws_stubs):
    with pytest.warns(DeprecationWarning, match="argument endpoint was renamed endpoint_name"):
        predictor = Predictor(endpoint="my-endpoint", sagemaker_session=aws_stubs.session)
    assert predictor.endpoint_name == "my-endpoint"
    with pytest.warns(DeprecationWarning, match="attribute endpoint was renamed endpoint_name"):
        assert predictor.endpoint == "my-endpoint"
