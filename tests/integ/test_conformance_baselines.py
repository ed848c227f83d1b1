"""`framework-sdk check` passes no check for the wrong reason: bad-input checks need a baseline of the same run.

The test image (test_conformance_indifferent_image) tells bad input from good in no way;
environment variables choose how (see its Dockerfile).
"""

import pytest
from click.testing import CliRunner

from framework_sdk import conformance
from framework_sdk.cli import main

pytestmark = pytest.mark.docker

BAD_TRAINING = ("train: fails on an empty channel", "train: writes output/failure on an empty channel",
                "train: fails on a garbage channel", "train: writes output/failure on a garbage channel")
BAD_REQUESTS = ("serve: 415 for an unknown content type", "serve: 400 for a malformed body",
                "serve: 400 for an empty body", "serve: 400 for the wrong number of features",
                "serve: 406 for an unknown Accept", "serve: 413 over SAGEMAKER_MAX_PAYLOAD_IN_MB=1")


def run_check(docker_client, image, **environment):
    results = conformance.check(image, docker_client, environment=environment, timeout=60)
    assert docker_client.containers.list(all=True, filters={"label": "org.framework-sdk.check"}) == []
    return {result.name: result for result in results}


def test_an_image_failing_on_every_input_gets_no_pass_on_bad_input(docker_client, indifferent_image):
    result = CliRunner().invoke(main, ["check", indifferent_image, "--env", "FSDK_TEST_TRAIN_EXIT=1",
                                       "--timeout", "60"])
    assert result.exit_code == 1, result.output
    lines = {line[8:].split("  ")[0]: line for line in result.stdout.splitlines()[1:-1]}
    assert [lines[check][:4] for check in BAD_TRAINING] == ["SKIP"] * 4, result.stdout
    assert lines["train: exits 0 on valid input"].startswith("FAIL")
    assert "exit code 1, output/failure 'something went wrong'" in lines["train: exits 0 on valid input"]
    for check in BAD_TRAINING:
        assert lines[check].startswith("SKIP"), lines[check]
        assert "training fails on valid input too: fix that first (exit code 1" in lines[check]
    for check in conformance.SERVE_CHECKS:
        assert lines[check].startswith("SKIP") and "training failed on valid input" in lines[check]


def test_an_image_ignoring_bad_input_fails_the_bad_input_checks(docker_client, indifferent_image):
    results = run_check(docker_client, indifferent_image)
    assert results["train: exits 0 on valid input"].status == conformance.PASS
    assert {name: results[name].status for name in BAD_TRAINING} == dict.fromkeys(BAD_TRAINING, conformance.FAIL)
    assert "exit code 0 on an empty channel" in results["train: fails on an empty channel"].detail
    # its server tells bad requests apart: those checks pass, each against a valid request right after
    for name in BAD_REQUESTS[:3]:
        assert results[name].status == conformance.PASS, results[name]
        assert "while a valid request right after got 200" in results[name].detail


def test_serving_checks_after_a_failed_start_are_skipped(docker_client, indifferent_image):
    results = run_check(docker_client, indifferent_image, FSDK_TEST_SERVE_MODE="exit")
    assert results["serve: answers /ping"].status == conformance.FAIL
    later = conformance.SERVE_CHECKS[1:]
    assert {name: results[name].status for name in later} == dict.fromkeys(later, conformance.SKIP)
    assert "serve did not start" in results["serve: stops on SIGTERM"].detail


def test_serving_checks_after_a_crash_are_skipped(docker_client, indifferent_image):
    results = run_check(docker_client, indifferent_image, FSDK_TEST_SERVE_MODE="crash")
    assert results["serve: handles text/csv"].status == conformance.PASS
    crashed = results["serve: 415 for an unknown content type"]
    assert crashed.status == conformance.FAIL and crashed.detail.startswith("no answer")
    assert {name: results[name].status for name in BAD_REQUESTS[1:]} == dict.fromkeys(BAD_REQUESTS[1:],
                                                                                        conformance.SKIP)
    assert results["serve: keeps serving after bad requests"].status == conformance.FAIL
    # a server that crashed earlier does not "stop on SIGTERM"
    assert results["serve: stops on SIGTERM"].status == conformance.SKIP
    assert results["serve: /execution-parameters"].status == conformance.SKIP


def test_a_4xx_proves_nothing_when_valid_requests_fail_too(docker_client, indifferent_image):
    results = run_check(docker_client, indifferent_image, FSDK_TEST_SERVE_MODE="wedged")
    assert results["serve: 415 for an unknown content type"].status == conformance.PASS
    wedging = results["serve: 400 for a malformed body"]  # a right answer, then 400 for everything
    assert wedging.status == conformance.SKIP
    assert wedging.detail.startswith("400 for") and "a valid request right after got 400 too" in wedging.detail
    assert [results[name].status for name in BAD_REQUESTS[2:]] == [conformance.SKIP] * 4
    assert "a valid request after a malformed text/csv body got 400" in results[BAD_REQUESTS[2]].detail
    assert results["serve: keeps serving after bad requests"].status == conformance.FAIL


def test_a_server_rejecting_valid_requests_gets_no_readiness_pass(docker_client, indifferent_image):
    results = run_check(docker_client, indifferent_image, FSDK_TEST_SERVE_MODE="reject")
    assert results["serve: handles text/csv"].status == conformance.FAIL
    assert results["serve: /ping only when /invocations works"].status == conformance.SKIP
    assert not [name for name in BAD_REQUESTS if results[name].status == conformance.PASS]
