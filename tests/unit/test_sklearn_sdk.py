"""The scikit-learn estimator, model and predictor: requests validated against botocore's service model (Stubber)."""
import json

import pytest

from framework_sdk import image_uris
from framework_sdk.container import frameworks
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.packaging import pack_sourcedir
from framework_sdk.serializers import NumpyDeserializer, NumpySerializer
from framework_sdk.sklearn import SKLearn, SKLearnModel, SKLearnPredictor

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


@pytest.fixture
def source_dir(tmp_path):
    (tmp_path / "train.py").write_text("print('training')\n")
    return str(tmp_path)


def test_registered_like_any_framework():
    assert frameworks.resolve(frameworks.load("sklearn").ESTIMATOR) is SKLearn
    assert image_uris.retrieve("sklearn", "1.9.1", region="us-west-2", account="123456789012") == \
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/framework-sdk-sklearn:1.9.1-cpu-py3"


def test_fit_sends_a_script_mode_training_job(aws_stubs, source_dir):
    estimator = SKLearn("train.py", framework_version="1.9.1", source_dir=source_dir, role=ROLE,
                        instance_type="ml.m5.large", hyperparameters={"n_estimators": 10},
                        output_path="s3://bucket/output", sagemaker_session=aws_stubs.session)
    with pack_sourcedir("train.py", source_dir) as archive:
        aws_stubs.s3.add_response("head_object", {"Metadata": {"sha256": archive.sha256}})
    aws_stubs.sts.add_response("get_caller_identity", {"Account": "123456789012", "Arn": ROLE, "UserId": "x"})
    captured = {}
    aws_stubs.sagemaker.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:job/x"})
    aws_stubs.clients["sagemaker"].meta.events.register("before-parameter-build.sagemaker.CreateTrainingJob",
                                                        lambda params, **_: captured.update(params))
    estimator.fit({"train": "s3://bucket/train"}, wait=False, job_name="sklearn-test-job")
    aws_stubs.sagemaker.assert_no_pending_responses()
    assert captured["AlgorithmSpecification"]["TrainingImage"] == \
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/framework-sdk-sklearn:1.9.1-cpu-py3"
    hps = {key: json.loads(value) for key, value in captured["HyperParameters"].items()}
    assert hps["n_estimators"] == 10 and hps["sagemaker_program"] == "train.py"
    assert captured["ResourceConfig"]["InstanceCount"] == 1


def test_model_container_definition_and_predictor(aws_stubs):
    model = SKLearnModel("s3://bucket/model.tar.gz", ROLE, "inference.py", framework_version="1.9.1",
                         source_dir="s3://bucket/code/sourcedir.tar.gz",
                         model_server_workers=2, sagemaker_session=aws_stubs.session)
    aws_stubs.sts.add_response("get_caller_identity", {"Account": "123456789012", "Arn": ROLE, "UserId": "x"})
    container = model.prepare_container_def("ml.m5.large")
    assert container["Environment"]["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2"
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert container["Image"].endswith("/framework-sdk-sklearn:1.9.1-cpu-py3")
    predictor = SKLearnPredictor("endpoint", sagemaker_session=aws_stubs.session)
    assert isinstance(predictor.serializer, NumpySerializer) and isinstance(predictor.deserializer, NumpyDeserializer)


def test_framework_version_is_required_and_checked(source_dir):
    with pytest.raises(ConfigurationError, match="supported sklearn versions: 1.9.1"):
        SKLearn("train.py", source_dir=source_dir, role=ROLE, instance_type="ml.m5.large")
    with pytest.raises(image_uris.UnsupportedVersionError, match="supported versions: 1.9.1"):
        SKLearn("train.py", framework_version="0.20.0", source_dir=source_dir, role=ROLE,
                instance_type="ml.m5.large")


def test_default_model_fn_loads_model_joblib_or_says_what_to_write(tmp_path):
    from framework_sdk.container.errors import StartupError

    sklearn_framework = frameworks.load("sklearn")
    with pytest.raises(StartupError, match="model.joblib"):
        sklearn_framework.default_model_fn(str(tmp_path))
    joblib = pytest.importorskip("joblib")
    joblib.dump({"weights": [1, 2]}, tmp_path / "model.joblib")
    assert sklearn_framework.default_model_fn(str(tmp_path)) == {"weights": [1, 2]}
