"""Bad input is a clear ConfigurationError raised before any request is sent.

Each test runs against Stubbers with nothing queued: any request would fail the test with a
stub error instead of the expected ConfigurationError.
"""
import boto3
import pytest

from framework_sdk.estimator import Estimator, Framework
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.image_uris import UnsupportedVersionError
from framework_sdk.inputs import TrainingInput
from framework_sdk.model import FrameworkModel, Model
from framework_sdk.session import Session
from framework_sdk.transformer import Transformer

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


class Toy(Framework):
    _framework_name = "chainer"


@pytest.fixture
def code(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("pass\n")
    (tmp_path / "outside.py").write_text("pass\n")
    return tmp_path


def toy(session, code, **kwargs):
    arguments = dict(entry_point="train.py", source_dir=str(code / "src"), role=ROLE, instance_count=1,
                     instance_type="ml.m5.large", framework_version="7.8.1", sagemaker_session=session)
    arguments.update(kwargs)
    return Toy(**arguments)


def test_missing_role(aws_stubs, code):
    with pytest.raises(ConfigurationError, match="role is required"):
        toy(aws_stubs.session, code, role=None)
    with pytest.raises(ConfigurationError, match="role is required"):
        Model("img", "s3://b/model.tar.gz", sagemaker_session=aws_stubs.session).deploy(1, "ml.m5.large")


def test_unknown_framework_version_lists_supported(aws_stubs, code):
    with pytest.raises(UnsupportedVersionError, match="supported versions: 7.8.1"):
        toy(aws_stubs.session, code, framework_version="1.0")
    with pytest.raises(ConfigurationError, match="framework_version is required.*7.8.1"):
        toy(aws_stubs.session, code, framework_version=None)


def test_entry_point_outside_source_dir(aws_stubs, code):
    with pytest.raises(ConfigurationError, match="outside source_dir"):
        toy(aws_stubs.session, code, entry_point="../outside.py")
    with pytest.raises(ConfigurationError, match="outside source_dir"):
        toy(aws_stubs.session, code, entry_point=str(code / "outside.py"))
    with pytest.raises(ConfigurationError, match="does not exist in source_dir"):
        toy(aws_stubs.session, code, entry_point="missing.py")
    with pytest.raises(ConfigurationError, match="outside source_dir"):
        FrameworkModel("s3://b/m.tar.gz", "img", ROLE, "../outside.py", source_dir=str(code / "src"),
                       sagemaker_session=aws_stubs.session)


@pytest.mark.parametrize("inputs", ["data/train", "/abs/data", "s3:/typo", {"training": 3},
                                    TrainingInput("train-data"), ["s3://b/x"]])
def test_non_uri_input(aws_stubs, code, inputs):
    with pytest.raises(ConfigurationError, match="not a URI|channel|inputs must be"):
        toy(aws_stubs.session, code, output_path="s3://b/").fit(inputs, wait=False)


def test_file_uri_outside_local_mode(aws_stubs, code):
    with pytest.raises(ConfigurationError, match="only local mode can read"):
        toy(aws_stubs.session, code, output_path="s3://b/").fit("file:///data", wait=False)
    with pytest.raises(ConfigurationError, match="only local mode"):
        toy(aws_stubs.session, code, output_path="file:///tmp/out")


class _NoCredentialsLocal(Session):
    """A local-mode session over a boto3 session that finds no credentials."""

    local_mode = True


def test_local_instance_with_s3_output_but_no_credentials(monkeypatch, code, aws_stubs):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    session = _NoCredentialsLocal(boto_session=boto3.Session(region_name="us-west-2"),
                                  sagemaker_client=aws_stubs.clients["sagemaker"], s3_client=aws_stubs.clients["s3"])
    estimator = toy(session, code, instance_type="local", role=None, output_path="s3://bucket/out")
    with pytest.raises(ConfigurationError, match="output_path 's3://bucket/out' needs AWS credentials"):
        estimator.fit("file:///data", wait=False)
    transformer = Transformer("m", 1, "local", sagemaker_session=session)
    with pytest.raises(ConfigurationError, match="needs AWS credentials"):
        transformer.transform("s3://in/data", wait=False)


def test_local_instance_type_needs_a_local_session(aws_stubs, code):
    with pytest.raises(ConfigurationError, match="needs a LocalSession"):
        toy(aws_stubs.session, code, instance_type="local")
    local = _NoCredentialsLocal(boto_session=aws_stubs.session.boto_session)
    with pytest.raises(ConfigurationError, match="session is a LocalSession"):
        toy(local, code, instance_type="ml.m5.large")


@pytest.mark.parametrize("kwargs, message", [
    ({"instance_count": 0}, "instance_count"),
    ({"instance_type": None}, "instance_type is required"),
    ({"input_mode": "Stream"}, "input_mode"),
    ({"use_spot_instances": True}, "max_wait"),
    ({"subnets": ["s"]}, "subnets and security_group_ids"),
    ({"checkpoint_s3_uri": "/tmp/ck"}, "checkpoint_s3_uri"),
    ({"code_location": "/tmp"}, "code_location"),
])
def test_bad_estimator_arguments(aws_stubs, code, kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        toy(aws_stubs.session, code, **kwargs)


def test_bad_job_name_and_names(aws_stubs):
    estimator = Estimator("img", ROLE, 1, "ml.m5.large", output_path="s3://b/", sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="job_name 'bad_name!'"):
        estimator.fit("s3://b/data", job_name="bad_name!", wait=False)
    with pytest.raises(ConfigurationError, match="model_data 'model.tar.gz' is not a URI"):
        Model("img", "model.tar.gz", ROLE)
    with pytest.raises(ConfigurationError, match="initial_instance_count"):
        Model("img", "s3://b/m.tar.gz", ROLE, sagemaker_session=aws_stubs.session).deploy(0, "ml.m5.large")


def test_unknown_log_type_is_refused_before_the_job_starts(aws_stubs):
    estimator = Estimator("img", ROLE, 1, "ml.m5.large", output_path="s3://b/", sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="log_type='Everything' is not one of"):
        estimator.fit("s3://b/data", logs="Everything")


def test_bad_transform_arguments(aws_stubs):
    with pytest.raises(ConfigurationError, match="strategy"):
        Transformer("m", 1, "ml.m5.large", strategy="Many", sagemaker_session=aws_stubs.session)
    transformer = Transformer("m", 1, "ml.m5.large", sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="split_type"):
        transformer.transform("s3://b/in", split_type="Word", wait=False)
    with pytest.raises(ConfigurationError, match="not a URI"):
        transformer.transform("in/data", wait=False)


def test_deploy_before_training_completes(aws_stubs):
    estimator = Estimator("img", ROLE, 1, "ml.m5.large", output_path="s3://b/", sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="call fit"):
        estimator.deploy(1, "ml.m5.large")
