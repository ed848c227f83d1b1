"""training_job_analytics on AWS (CloudWatch through a botocore Stubber) and local defaults of the transformer."""
import datetime

import pytest
from botocore.stub import ANY

from framework_sdk import Estimator, LocalSession, Transformer
from framework_sdk.jobs import TrainingJob
from framework_sdk.exceptions import ConfigurationError

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
DEFINITIONS = [{"Name": "train:loss", "Regex": r"loss=(\S+)"}]


def description(name):
    return {
        "TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-west-2:123456789012:training-job/{name}",
        "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed",
        "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File",
                                   "MetricDefinitions": DEFINITIONS},
        "RoleArn": ROLE, "OutputDataConfig": {"S3OutputPath": "s3://out/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "CreationTime": NOW,
        "TrainingStartTime": NOW, "TrainingEndTime": NOW + datetime.timedelta(minutes=5),
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://out/{name}/output/model.tar.gz"},
    }


def test_analytics_on_aws_read_cloudwatch(aws_stubs):
    from botocore.stub import Stubber

    cloudwatch = aws_stubs.session.boto_session.client("cloudwatch")
    aws_stubs.session._clients["cloudwatch"] = cloudwatch
    estimator = Estimator("img:1", ROLE, 1, "ml.m5.large", sagemaker_session=aws_stubs.session,
                          metric_definitions=DEFINITIONS)
    estimator.latest_training_job = TrainingJob(aws_stubs.session, "job-1")
    aws_stubs.sagemaker.add_response("describe_training_job", description("job-1"), {"TrainingJobName": "job-1"})
    with Stubber(cloudwatch) as stub:
        stub.add_response("get_metric_statistics", {"Label": "train:loss", "Datapoints": [
            {"Timestamp": NOW + datetime.timedelta(minutes=2), "Average": 0.25},
            {"Timestamp": NOW + datetime.timedelta(minutes=1), "Average": 0.5}]}, {
            "Namespace": "/aws/sagemaker/TrainingJobs", "MetricName": "train:loss",
            "Dimensions": [{"Name": "TrainingJobName", "Value": "job-1"}], "StartTime": ANY, "EndTime": ANY,
            "Period": 60, "Statistics": ["Average"]})
        analytics = estimator.training_job_analytics
        stub.assert_no_pending_responses()
    assert [(point.timestamp, point.value) for point in analytics.series("train:loss")] == [(60.0, 0.5),
                                                                                            (120.0, 0.25)]


def test_analytics_need_a_job(aws_stubs):
    estimator = Estimator("img:1", ROLE, 1, "ml.m5.large", sagemaker_session=aws_stubs.session)
    with pytest.raises(ConfigurationError, match="call fit"):
        estimator.training_job_analytics  # noqa: B018 (the property raises)


class Recorder:
    """A sagemaker client that records the requests it gets."""

    def __init__(self):
        self.requests = []

    def create_transform_job(self, **request):
        self.requests.append(request)
        return {"TransformJobArn": "arn"}


def test_local_transformer_output_defaults_to_the_session_output_path(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    session = LocalSession(backend="process")
    recorder = session._clients["sagemaker"] = Recorder()
    transformer = Transformer("my-model", 1, "local", sagemaker_session=session)
    transformer.transform(f"file://{tmp_path}", content_type="text/csv", job_name="batch-1", wait=False)
    output = recorder.requests[0]["TransformOutput"]["S3OutputPath"]
    assert output == f"file://{tmp_path}/share/framework-sdk/local-output/batch-1"
    assert transformer.output_path == output
