"""Session: error translation, region errors, default bucket, bounded waits and log streaming (Stubber-validated)."""
import datetime
import io

import pytest

from framework_sdk.exceptions import AWSError, ConfigurationError, UnexpectedStatusException, WaitTimeoutError
from framework_sdk.session import LogReader, Session

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
ACCOUNT = "123456789012"


def _job(name, status, **extra):
    return {"TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:training-job/{name}",
            "TrainingJobStatus": status, "SecondaryStatus": status, "CreationTime": NOW,
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "img"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60}, "ModelArtifacts": {"S3ModelArtifacts": ""}, **extra}


def test_aws_errors_become_our_exception_with_code_request_and_advice(aws_stubs):
    aws_stubs.sagemaker.add_client_error("describe_training_job", "ResourceNotFound", "Could not find job",
                                         expected_params={"TrainingJobName": "nope"})
    with pytest.raises(AWSError) as caught:
        aws_stubs.session.describe_training_job("nope")
    error = caught.value
    assert (error.operation_name, error.code, error.request) == (
        "DescribeTrainingJob", "ResourceNotFound", {"TrainingJobName": "nope"})
    assert "check the name and the region" in str(error) and "'nope'" in str(error)
    assert error.response["Error"]["Message"] == "Could not find job"


def test_missing_region_is_a_clear_error(monkeypatch):
    import boto3

    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ConfigurationError, match="AWS_DEFAULT_REGION"):
        Session(boto_session=boto3.Session())  # at construction, as SageMaker Python SDK does
    with pytest.raises(ConfigurationError, match="AWS_DEFAULT_REGION"):
        Session()


def test_default_bucket_is_created_in_the_region(aws_stubs):
    aws_stubs.sts.add_response("get_caller_identity", {"Account": ACCOUNT}, {})
    bucket = f"sagemaker-us-west-2-{ACCOUNT}"
    aws_stubs.s3.add_client_error("head_bucket", "404", "Not Found", 404, expected_params={"Bucket": bucket})
    aws_stubs.s3.add_response("create_bucket", {}, {
        "Bucket": bucket, "CreateBucketConfiguration": {"LocationConstraint": "us-west-2"}})
    assert aws_stubs.session.default_bucket() == bucket
    assert aws_stubs.session.default_bucket() == bucket  # cached: no second request
    aws_stubs.s3.assert_no_pending_responses()


def test_default_bucket_owned_by_someone_else(aws_stubs):
    aws_stubs.sts.add_response("get_caller_identity", {"Account": ACCOUNT}, {})
    aws_stubs.s3.add_client_error("head_bucket", "403", "Forbidden", 403)
    with pytest.raises(ConfigurationError, match="default_bucket"):
        aws_stubs.session.default_bucket()


def test_expand_role(aws_stubs):
    aws_stubs.sts.add_response("get_caller_identity", {"Account": ACCOUNT}, {})
    assert aws_stubs.session.expand_role("MyRole") == f"arn:aws:iam::{ACCOUNT}:role/MyRole"
    assert aws_stubs.session.expand_role("arn:aws:iam::1:role/x") == "arn:aws:iam::1:role/x"
    assert aws_stubs.session.expand_role("role/MyRole") == f"arn:aws:iam::{ACCOUNT}:role/MyRole"
    assert (aws_stubs.session.expand_role("service-role/AmazonSageMaker-ExecutionRole-1")
            == f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMaker-ExecutionRole-1")
    with pytest.raises(ConfigurationError, match="role is required"):
        aws_stubs.session.expand_role(None)


def test_wait_for_job_polls_until_done_and_carries_failure_reason(aws_stubs):
    aws_stubs.sagemaker.add_response("describe_training_job", _job("j", "InProgress"), {"TrainingJobName": "j"})
    aws_stubs.sagemaker.add_response("describe_training_job", _job("j", "Failed", FailureReason="AlgorithmError: boom"),
                                     {"TrainingJobName": "j"})
    with pytest.raises(UnexpectedStatusException) as caught:
        aws_stubs.session.wait_for_job("j", poll=0.01)
    assert caught.value.failure_reason == "AlgorithmError: boom"
    assert caught.value.actual_status == "Failed" and "boom" in str(caught.value)


def test_wait_is_bounded(aws_stubs):
    for _ in range(20):
        aws_stubs.sagemaker.add_response("describe_training_job", _job("j", "InProgress"), {"TrainingJobName": "j"})
    with pytest.raises(WaitTimeoutError, match="still InProgress"):
        aws_stubs.session.wait_for_job("j", poll=0.01, timeout=0.05)


def test_wait_for_endpoint_failure(aws_stubs):
    aws_stubs.sagemaker.add_response("describe_endpoint", {
        "EndpointName": "e", "EndpointArn": f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint/e",
        "EndpointConfigName": "e", "EndpointStatus": "Failed", "FailureReason": "image not found",
        "CreationTime": NOW, "LastModifiedTime": NOW}, {"EndpointName": "e"})
    with pytest.raises(UnexpectedStatusException, match="image not found"):
        aws_stubs.session.wait_for_endpoint("e", poll=0.01)


def test_logs_merge_streams_by_time_with_host_prefix_then_final_status(aws_stubs):
    group = "/aws/sagemaker/TrainingJobs"
    streams = ["j/algo-1-1700000000", "j/algo-2-1700000001"]
    aws_stubs.sagemaker.add_response("describe_training_job", _job("j", "Failed", FailureReason="exit 1"),
                                     {"TrainingJobName": "j"})
    aws_stubs.logs.add_response("describe_log_streams", {
        "logStreams": [{"logStreamName": streams[1]}], "nextToken": "page2"},
        {"logGroupName": group, "logStreamNamePrefix": "j/"})
    aws_stubs.logs.add_response("describe_log_streams", {"logStreams": [{"logStreamName": streams[0]}]},
                                {"logGroupName": group, "logStreamNamePrefix": "j/", "nextToken": "page2"})
    for stream, events in ((streams[0], [(1, "a1"), (3, "a3")]), (streams[1], [(2, "b2")])):
        aws_stubs.logs.add_response("get_log_events", {
            "events": [{"timestamp": t, "message": m} for t, m in events], "nextForwardToken": "next"},
            {"logGroupName": group, "logStreamName": stream, "startFromHead": True})
        aws_stubs.logs.add_response("get_log_events", {"events": [], "nextForwardToken": "next"},
                                    {"logGroupName": group, "logStreamName": stream, "startFromHead": True,
                                     "nextToken": "next"})
    out = io.StringIO()
    with pytest.raises(UnexpectedStatusException, match="exit 1"):
        aws_stubs.session._follow_logs("j", group, aws_stubs.session.describe_training_job, "TrainingJobStatus",
                                       ("Completed", "Failed", "Stopped"), True, 0.01, None, out=out)
    assert out.getvalue().splitlines() == ["[algo-1] a1", "[algo-2] b2", "[algo-1] a3", "j: Failed - exit 1"]


RULES = {"ProfilerRuleEvaluationStatuses": [{"RuleConfigurationName": "ProfilerReport",
                                              "RuleEvaluationStatus": "NoIssuesFound"}]}


def _queue_one_log_line(aws_stubs, job):
    group, stream = "/aws/sagemaker/TrainingJobs", f"{job}/algo-1-1700000000"
    aws_stubs.logs.add_response("describe_log_streams", {"logStreams": [{"logStreamName": stream}]},
                                {"logGroupName": group, "logStreamNamePrefix": f"{job}/"})
    aws_stubs.logs.add_response("get_log_events", {"events": [{"timestamp": 1, "message": "epoch 1"}],
                                                   "nextForwardToken": "next"},
                                {"logGroupName": group, "logStreamName": stream, "startFromHead": True})
    aws_stubs.logs.add_response("get_log_events", {"events": [], "nextForwardToken": "next"},
                                {"logGroupName": group, "logStreamName": stream, "startFromHead": True,
                                 "nextToken": "next"})


@pytest.mark.parametrize("log_type, reads_logs, expected", [
    ("All", True, ["[algo-1] epoch 1", "[rule] ProfilerReport: NoIssuesFound", "j: Completed"]),
    (True, True, ["[algo-1] epoch 1", "[rule] ProfilerReport: NoIssuesFound", "j: Completed"]),
    ("Training", True, ["[algo-1] epoch 1", "j: Completed"]),
    ("Rules", False, ["[rule] ProfilerReport: NoIssuesFound", "j: Completed"]),
    ("None", False, []),
])
def test_logs_for_job_prints_what_log_type_names(aws_stubs, capsys, log_type, reads_logs, expected):
    """As SageMaker v2: the log lines ('All', 'Training'), the rules' statuses ('All', 'Rules'), or nothing."""
    aws_stubs.sagemaker.add_response("describe_training_job", _job("j", "Completed", **RULES), {"TrainingJobName": "j"})
    if reads_logs:
        _queue_one_log_line(aws_stubs, "j")
    aws_stubs.session.logs_for_job("j", wait=True, poll=0.01, log_type=log_type)
    assert capsys.readouterr().out.splitlines() == expected
    aws_stubs.logs.assert_no_pending_responses()  # 'Rules' and 'None' read no CloudWatch logs


def test_logs_for_job_prints_each_rule_status_once_as_it_changes(aws_stubs, capsys):
    running = {"ProfilerRuleEvaluationStatuses": [{"RuleConfigurationName": "ProfilerReport",
                                                   "RuleEvaluationStatus": "InProgress"}]}
    for status, rules in (("InProgress", running), ("InProgress", running), ("Completed", RULES)):
        aws_stubs.sagemaker.add_response("describe_training_job", _job("j", status, **rules), {"TrainingJobName": "j"})
    aws_stubs.session.logs_for_job("j", wait=True, poll=0.01, log_type="Rules")
    assert capsys.readouterr().out.splitlines() == ["[rule] ProfilerReport: InProgress", "[rule] ProfilerReport: NoIssuesFound",
                                           "j: Completed"]


def test_logs_for_job_refuses_an_unknown_log_type(aws_stubs):
    with pytest.raises(ConfigurationError, match="log_type='Debug' is not one of 'All', 'Training', 'Rules', 'None'"):
        aws_stubs.session.logs_for_job("j", log_type="Debug")


def test_log_group_missing_means_no_lines_yet(aws_stubs):
    aws_stubs.logs.add_client_error("describe_log_streams", "ResourceNotFoundException", "no group")
    assert LogReader(aws_stubs.session.logs_client, "/aws/sagemaker/TrainingJobs", "j").read_new() == []


def test_host_names_from_stream_names():
    assert LogReader.host("job/algo-1-1700000000") == "algo-1"
    assert LogReader.host("job/algo-12") == "algo-12"


def test_upload_progress_line_only_on_a_terminal(capsys):
    from framework_sdk.session.s3 import _Progress

    shown = _Progress(4 * 1024 * 1024, "upload s3://b/k", enabled=True)
    shown(2 * 1024 * 1024)
    shown(2 * 1024 * 1024)
    shown.close()
    quiet = _Progress(10, "upload", enabled=False)
    quiet(10)
    quiet.close()
    err = capsys.readouterr().err
    assert "upload s3://b/k" in err and "100.0%" in err and err.count("\n") == 1


@pytest.mark.parametrize("message, advice", [
    ("Requested resource not found.", "check the name and the region"),
    ('Cannot create already existing endpoint "arn:aws:sagemaker:us-west-2:1:endpoint/ep".', "the name is taken"),
    ("1 validation error detected: Value 'x' at 'trainingJobName' failed to satisfy constraint", "fix the argument"),
])
def test_sagemaker_validation_errors_get_advice_from_their_message(aws_stubs, message, advice):
    aws_stubs.sagemaker.add_client_error("describe_endpoint", "ValidationException", message,
                                         expected_params={"EndpointName": "ep"})
    with pytest.raises(AWSError, match=advice):
        aws_stubs.session.describe_endpoint("ep")


def test_local_session_uploads_to_a_named_bucket_with_callback_and_extra_args(aws_stubs, tmp_path):
    from botocore.stub import ANY

    from framework_sdk.local import LocalSession

    data = tmp_path / "train.csv"
    data.write_bytes(b"1,2\n3,4\n")
    session = LocalSession(backend="process", boto_session=aws_stubs.session.boto_session,
                           s3_client=aws_stubs.clients["s3"])
    aws_stubs.s3.add_response("put_object", {}, {"Bucket": "b", "Key": "data/train.csv", "Body": ANY,
                                                 "ServerSideEncryption": "aws:kms", "ChecksumAlgorithm": ANY})
    # the Stubber reads no body, so no progress reaches the callback; what matters is where each argument lands
    uri = session.upload_data(str(data), bucket="b", callback=lambda sent: None,
                              extra_args={"ServerSideEncryption": "aws:kms"})
    assert uri == "s3://b/data/train.csv"
    aws_stubs.s3.assert_no_pending_responses()
