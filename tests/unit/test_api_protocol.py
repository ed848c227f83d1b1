"""The API server's request validation (botocore's model, SageMaker's message shape) and Logs paging."""
import datetime
import json

import pytest

from framework_sdk.api import protocol
from framework_sdk.api.logs import LogsApi
from framework_sdk.api.protocol import ApiError
from framework_sdk.api.store import Store, lock_state_dir


def parse(operation, document):
    return protocol.parse_json_request(json.dumps(document).encode(), protocol.operation("sagemaker", operation))


def test_missing_unknown_and_mistyped_members_get_sagemakers_validation_message():
    with pytest.raises(ApiError) as error:
        parse("CreateEndpointConfig", {"ProductionVariants": [{"VariantName": "v", "Bogus": 1}]})
    assert error.value.code == "ValidationException" and error.value.status == 400
    assert error.value.message.startswith(
        "2 validation errors detected: Value null at 'endpointConfigName' failed to satisfy constraint: Member "
        "must not be null; Value at 'productionVariants[0].bogus' failed to satisfy constraint: Member is not "
        "part of the request; valid members: VariantName, ModelName, ")
    with pytest.raises(ApiError, match="Value '7' at 'modelName' failed to satisfy constraint: Member must be of "
                                       "type str"):
        parse("DescribeModel", {"ModelName": 7})


def test_timestamps_arrive_as_datetimes_and_answers_go_back_as_epoch_seconds():
    params = parse("ListTrainingJobs", {"CreationTimeAfter": 1700000000.5})
    assert params["CreationTimeAfter"] == datetime.datetime.fromtimestamp(1700000000.5, datetime.timezone.utc)
    assert protocol.wire({"CreationTime": params["CreationTimeAfter"], "ResponseMetadata": {}, "B": b"\x00"}) == {
        "CreationTime": 1700000000.5, "B": "AA=="}


def test_bodies_that_are_not_json_objects_and_unknown_operations_are_refused():
    for body in (b"{not json", b"[1]"):
        with pytest.raises(ApiError) as error:
            protocol.parse_json_request(body, protocol.operation("sagemaker", "ListModels"))
        assert error.value.code == "SerializationException"
    with pytest.raises(ApiError) as error:
        protocol.operation("sagemaker", "LaunchRockets")
    assert error.value.code == "UnknownOperationException"


def test_get_log_events_pages_forward_and_backward_and_repeats_its_token_at_the_end(tmp_path):
    store = Store(tmp_path / "state.sqlite3")
    store.add_stream("g", "job/algo-1-1")
    store.add_events("g", "job/algo-1-1", [f"line {i}" for i in range(5)])
    logs = LogsApi(store)
    first = logs.call("GetLogEvents", {"logGroupName": "g", "logStreamName": "job/algo-1-1", "startFromHead": True,
                                       "limit": 3})
    assert [e["message"] for e in first["events"]] == ["line 0", "line 1", "line 2"]
    rest = logs.call("GetLogEvents", {"logGroupName": "g", "logStreamName": "job/algo-1-1",
                                      "nextToken": first["nextForwardToken"]})
    assert [e["message"] for e in rest["events"]] == ["line 3", "line 4"]
    end = logs.call("GetLogEvents", {"logGroupName": "g", "logStreamName": "job/algo-1-1",
                                     "nextToken": rest["nextForwardToken"]})
    assert end["events"] == [] and end["nextForwardToken"] == rest["nextForwardToken"]
    back = logs.call("GetLogEvents", {"logGroupName": "g", "logStreamName": "job/algo-1-1",
                                      "nextToken": rest["nextBackwardToken"]})
    assert [e["message"] for e in back["events"]] == ["line 0", "line 1", "line 2"]
    tail = logs.call("GetLogEvents", {"logGroupName": "g", "logStreamName": "job/algo-1-1", "limit": 2})
    assert [e["message"] for e in tail["events"]] == ["line 3", "line 4"]  # newest first unless startFromHead
    with pytest.raises(ApiError) as error:
        logs.call("DescribeLogStreams", {"logGroupName": "nothing"})
    assert error.value.code == "ResourceNotFoundException"


def test_a_state_dir_lock_is_exclusive_until_released(tmp_path):
    held = lock_state_dir(tmp_path)
    try:
        from filelock import FileLock, Timeout

        with pytest.raises(Timeout):  # another process's view: the lock is taken
            FileLock(str(tmp_path / "server.lock"), thread_local=False, is_singleton=False).acquire(timeout=0)
    finally:
        held.release()
    lock_state_dir(tmp_path).release()  # free again (the message of a refusal: tests/integ/test_api_server.py)
