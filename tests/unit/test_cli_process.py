"""`framework-sdk process` without running a job: help, option parsing, usage errors."""
import re

import pytest
from click.testing import CliRunner

from framework_sdk.cli import main


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*arguments):
    return CliRunner().invoke(main, [str(argument) for argument in arguments])


def test_process_help_names_its_options():
    result = invoke("process", "--help")
    assert result.exit_code == 0
    for option in ("--entry-point", "--source-dir", "--command", "--input", "--output", "--shard", "--continuous",
                   "--instance-count", "--backend", "--job-name", "ARGUMENTS"):
        assert option in result.output
    assert "  process " in invoke("--help").output


@pytest.mark.parametrize("arguments, message", [
    (["python", "--input", "data"], "'data' is not NAME=URI"),
    (["python", "--entry-point", "p.py", "--input", "raw=.", "--shard", "other"], r"\['other'\] name no input"),
    (["python", "--entry-point", "p.py", "--output", "out", "--continuous", "logs"], r"\['logs'\] name no output"),
    (["python", "--input", "raw=/no/such/folder"], "no such file or folder"),
    (["python"], "python is a framework: give your processing script with --entry-point"),
    (["my-image:1", "--source-dir", "."], "--source-dir needs --entry-point"),
])
def test_process_usage_errors_say_what_to_do(arguments, message):
    result = invoke("process", *arguments, "--backend", "process")
    assert result.exit_code == 2
    assert re.search(message, result.output), result.output
