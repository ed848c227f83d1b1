"""The Chainer estimator, model and predictor: requests validated against botocore's service model."""
import json

import pytest

from framework_sdk import image_uris
from framework_sdk.chainer import Chainer, ChainerModel, ChainerPredictor
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.packaging import pack_sourcedir
from framework_sdk.serializers import NumpyDeserializer, NumpySerializer

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/framework-sdk-chainer:7.8.1-cpu-py3"


@pytest.fixture
def source_dir(tmp_path):
    (tmp_path / "train.py").write_text("print('training')\n")
    (tmp_path / "requirements.txt").write_text("six\n")
    return str(tmp_path)


def expect_sourcedir_present(stubs, source_dir, entry_point="train.py"):
    """The code bucket already holds an identical sourcedir.tar.gz, so nothing is uploaded."""
    with pack_sourcedir(entry_point, source_dir) as archive:
        digest = archive.sha256
    stubs.s3.add_response("head_object", {"Metadata": {"sha256": digest}})


def test_fit_on_two_instances_turns_mpi_on(aws_stubs, source_dir):
    estimator = Chainer("train.py", source_dir=source_dir, role=ROLE, instance_count=2,
                        instance_type="ml.c5.xlarge", framework_version="7.8.1",
                        hyperparameters={"epochs": 3, "units": 100}, num_processes=4,
                        output_path="s3://bucket/output", sagemaker_session=aws_stubs.session,
                        image_uri=IMAGE)
    expect_sourcedir_present(aws_stubs, source_dir)
    captured = {}

    def capture(request, **_):
        captured.update(request)

    aws_stubs.sagemaker.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:job/x"})
    aws_stubs.clients["sagemaker"].meta.events.register("before-parameter-build.sagemaker.CreateTrainingJob",
                                                        lambda params, **_: capture(params))
    estimator.fit("s3://bucket/train", wait=False, job_name="chainer-test-job")
    aws_stubs.sagemaker.assert_no_pending_responses()
    hps = {key: json.loads(value) for key, value in captured["HyperParameters"].items()}
    assert hps["sagemaker_use_mpi"] is True and hps["sagemaker_num_processes"] == 4
    assert "sagemaker_process_slots_per_host" not in hps
    assert hps["epochs"] == 3 and hps["sagemaker_program"] == "train.py"
    assert hps["sagemaker_submit_directory"].startswith("s3://bucket/") and hps["sagemaker_region"] == "us-west-2"
    assert captured["ResourceConfig"]["InstanceCount"] == 2


@pytest.mark.parametrize("count, use_mpi, expected", [(1, None, False), (2, None, True), (2, False, False),
                                                      (1, True, True)])
def test_mpi_default_follows_instance_count(source_dir, count, use_mpi, expected, aws_stubs):
    estimator = Chainer("train.py", source_dir=source_dir, role=ROLE, instance_count=count,
                        instance_type="ml.c5.xlarge", framework_version="7.8.1", use_mpi=use_mpi,
                        sagemaker_session=aws_stubs.session)
    assert estimator._framework_hyperparameters()["sagemaker_use_mpi"] is expected


def test_unknown_framework_version_lists_the_supported_ones(source_dir):
    with pytest.raises(image_uris.UnsupportedVersionError, match="supported versions: 7.8.1"):
        Chainer("train.py", source_dir=source_dir, role=ROLE, instance_count=1, instance_type="ml.c5.xlarge",
                framework_version="5.0.0")


def test_attach_restores_mpi_options_and_code():
    description = {
        "TrainingJobName": "chainer-2026", "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "HyperParameters": {"epochs": "3", "sagemaker_program": '"train.py"',
                            "sagemaker_submit_directory": '"s3://bucket/src/sourcedir.tar.gz"',
                            "sagemaker_use_mpi": "true", "sagemaker_process_slots_per_host": "2",
                            "sagemaker_job_name": '"chainer-2026"', "sagemaker_region": '"us-west-2"',
                            "sagemaker_container_log_level": "20"},
    }
    params = Chainer._prepare_init_params_from_job_description(description)
    assert params["use_mpi"] is True and params["process_slots_per_host"] == 2
    assert params["entry_point"] == "train.py" and params["hyperparameters"] == {"epochs": 3}
    assert params["framework_version"] == "7.8.1" and params["py_version"] == "py3"


def test_chainer_model_container_definition(aws_stubs):
    model = ChainerModel("s3://bucket/model.tar.gz", role=ROLE, entry_point="serve.py",
                         source_dir="s3://bucket/code/sourcedir.tar.gz", framework_version="7.8.1",
                         model_server_workers=2, sagemaker_session=aws_stubs.session, image_uri=IMAGE)
    container = model.prepare_container_def("ml.c5.xlarge")
    assert container["Environment"]["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2"
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "serve.py"
    assert container["ModelDataUrl"] == "s3://bucket/model.tar.gz"
    assert model.predictor_cls is ChainerPredictor


def test_chainer_predictor_speaks_npy(aws_stubs):
    predictor = ChainerPredictor("endpoint", sagemaker_session=aws_stubs.session)
    assert isinstance(predictor.serializer, NumpySerializer)
    assert isinstance(predictor.deserializer, NumpyDeserializer)


def test_model_needs_a_framework_version_or_image():
    with pytest.raises(ConfigurationError, match="supported chainer versions: 7.8.1"):
        ChainerModel("s3://bucket/model.tar.gz", role=ROLE, entry_point="s3-hosted.py",
                     source_dir="s3://bucket/code.tar.gz")


def test_create_model_takes_model_server_workers_first_as_sagemaker_v2_does(aws_stubs, source_dir, monkeypatch):
    estimator = Chainer("train.py", source_dir=source_dir, role=ROLE, instance_count=1, instance_type="ml.c5.xlarge",
                        framework_version="7.8.1", sagemaker_session=aws_stubs.session, image_uri=IMAGE)
    monkeypatch.setattr(Chainer, "model_data", "s3://bucket/output/model.tar.gz")  # as after a completed job
    model = estimator.create_model(3)
    assert isinstance(model, ChainerModel) and model.model_server_workers == 3 and model.role == ROLE
    assert (model.entry_point, model.framework_version, model.model_data) == (
        "train.py", "7.8.1", "s3://bucket/output/model.tar.gz")
