"""LocalSession: upload_data to a named bucket (in-process S3, moto) reports progress and keeps extra_args;
local_endpoint names what it cannot find.

(test_client_session.py checks with a Stubber where each argument lands; a Stubber reads no body, so no
progress reaches the callback there.)
"""
import boto3
from moto import mock_aws

from framework_sdk.local import LocalSession


def test_upload_data_to_a_named_bucket_keeps_callback_and_extra_args(tmp_path):
    data = tmp_path / "train.csv"
    data.write_bytes(b"1,2\n" * 1000)
    sent = []
    with mock_aws():
        boto = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        s3 = boto.client("s3")
        s3.create_bucket(Bucket="data")
        session = LocalSession(backend="process", boto_session=boto, s3_client=s3)
        uri = session.upload_data(str(data), "data", "inputs", callback=sent.append,
                                  extra_args={"Metadata": {"origin": "test"}})
        head = s3.head_object(Bucket="data", Key="inputs/train.csv")
    assert uri == "s3://data/inputs/train.csv"
    assert sum(sent) == data.stat().st_size == head["ContentLength"]
    assert head["Metadata"] == {"origin": "test"}


def test_local_endpoint_of_an_unknown_name_says_so():
    import pytest

    from framework_sdk.exceptions import AWSError

    with pytest.raises(AWSError, match="Could not find local endpoint 'nowhere'"):
        LocalSession(backend="process").local_endpoint("nowhere")
