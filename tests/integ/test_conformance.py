"""`framework-sdk check`: passes the decision-tree example, reports the broken image's planted faults."""
from pathlib import Path

import pytest
from click.testing import CliRunner

from framework_sdk import conformance
from framework_sdk.cli import main

pytestmark = pytest.mark.docker

BROKEN_IMAGE_DIR = Path(__file__).resolve().parent / "test_conformance_broken_image"
LABEL = "org.framework-sdk.check"


@pytest.fixture(scope="session")
def broken_image(docker_client, base_image):
    from conftest import build_test_image, remove_test_image

    tag = build_test_image(docker_client, BROKEN_IMAGE_DIR, "fsdk-test-conformance-broken", base_image)
    yield tag
    remove_test_image(docker_client, tag)


def statuses(results):
    return {result.name: result.status for result in results}


def assert_nothing_left(docker_client):
    assert docker_client.containers.list(all=True, filters={"label": LABEL}) == []


def test_check_passes_the_decision_tree_image(docker_client, decision_tree_image):
    result = CliRunner().invoke(main, ["check", decision_tree_image])
    assert result.exit_code == 0, result.output
    table = result.stdout
    for check in ("train: exits 0 on valid input", "train: writes the model to /opt/ml/model",
                  "train: writes output/failure on a garbage channel", "serve: /ping only when /invocations works",
                  "serve: handles text/csv", "serve: 400 for a malformed body",
                  "serve: 413 over SAGEMAKER_MAX_PAYLOAD_IN_MB=1", "serve: keeps serving after bad requests"):
        assert f"PASS    {check}" in table
    assert "WARN    serve: handles application/json  " in table and "not supported (415)" in table
    assert "FAIL" not in table
    assert_nothing_left(docker_client)


def test_check_reports_the_planted_faults(docker_client, broken_image):
    seen = []
    results = conformance.check(broken_image, docker_client, progress=seen.append)
    assert seen == results and not conformance.passed(results)
    status = statuses(results)
    planted = {
        "train: fails on an empty channel": conformance.FAIL,
        "train: writes output/failure on a garbage channel": conformance.FAIL,
        "serve: /ping only when /invocations works": conformance.FAIL,
        "serve: 415 for an unknown content type": conformance.FAIL,
        "serve: 400 for a malformed body": conformance.FAIL,
        "serve: 400 for an empty body": conformance.FAIL,
        "serve: 413 over SAGEMAKER_MAX_PAYLOAD_IN_MB=1": conformance.WARN,
        "serve: 406 for an unknown Accept": conformance.WARN,
        "serve: /execution-parameters": conformance.WARN,
    }
    assert {name: status.get(name) for name in planted} == planted
    healthy = ("train: exits 0 on valid input", "train: writes the model to /opt/ml/model",
               "train: fails on a garbage channel", "serve: answers /ping", "serve: handles text/csv",
               "serve: keeps serving after bad requests", "serve: stops on SIGTERM")
    assert {name: status[name] for name in healthy} == dict.fromkeys(healthy, conformance.PASS)
    detail = {result.name: result.detail for result in results}
    assert "answer /ping 200 only once the model is loaded" in detail["serve: /ping only when /invocations works"]
    assert "500" in detail["serve: 400 for a malformed body"]
    assert_nothing_left(docker_client)


def test_check_of_a_missing_image_says_how_to_build_it(docker_client):
    result = CliRunner().invoke(main, ["check", "fsdk-test-no-such-image:1"])
    assert result.exit_code == 1
    assert "has no image 'fsdk-test-no-such-image:1': build it first" in result.output
    framework = CliRunner().invoke(main, ["check", "framework-sdk-chainer:0.0.0-cpu-py3"])
    assert framework.exit_code == 1 and "framework-sdk images build chainer" in framework.output
    folder = CliRunner().invoke(main, ["check", str(BROKEN_IMAGE_DIR)])
    assert folder.exit_code == 1 and "that is a folder" in folder.output
    assert f"docker build -t my-image {BROKEN_IMAGE_DIR}" in folder.output


def test_format_table_lists_every_result_and_a_summary():
    results = [conformance.CheckResult("train: a", conformance.PASS, "ok"),
               conformance.CheckResult("serve: longer name", conformance.FAIL, "500")]
    lines = conformance.format_table(results).splitlines()
    assert lines[1] == "PASS    train: a            ok"
    assert lines[2] == "FAIL    serve: longer name  500"
    assert lines[-1] == "1 pass, 1 fail"
