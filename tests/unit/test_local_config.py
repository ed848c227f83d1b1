"""Choosing the local backend: argument, environment variable, user config file, probe."""
import json
import logging

import pytest

from framework_sdk.local import config
from framework_sdk.local.errors import LocalModeError

NO_ENGINE = "unix:///nonexistent/framework-sdk-test.sock"


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path):
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    return tmp_path


def write_config(folder, data):
    path = folder / "framework-sdk" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_argument_wins(monkeypatch):
    monkeypatch.setenv(config.ENV_VAR, "docker")
    assert config.choose_backend("process") == ("process", "chosen by LocalSession(backend=...)")


def test_environment_variable_then_config_file(monkeypatch, clean):
    write_config(clean, {"local": {"backend": "docker"}})
    monkeypatch.setenv(config.ENV_VAR, "process")
    assert config.choose_backend()[0] == "process"


def test_config_file(clean):
    path = write_config(clean, {"local": {"backend": "process", "serving_port": 9000}})
    assert config.choose_backend() == ("process", f"chosen in {path}")
    assert config.user_config()["serving_port"] == 9000


def test_no_engine_falls_back_to_process_and_says_why(caplog):
    with caplog.at_level(logging.INFO, logger="framework_sdk.local"):
        name, reason = config.choose_backend()
    assert name == "process"
    assert NO_ENGINE in reason and "FRAMEWORK_SDK_LOCAL_BACKEND=docker" in reason
    assert "using the process backend" in caplog.text


def test_docker_asked_for_without_engine_suggests_the_process_backend():
    with pytest.raises(LocalModeError, match=r"the docker backend was chosen by LocalSession\(backend=...\) but "
                                             r"no Docker engine answers.*backend='process'"):
        config.choose_backend("docker")


@pytest.mark.parametrize("bad", ["podman", "Docker"])
def test_unknown_backend_is_named(bad):
    with pytest.raises(LocalModeError, match=f"unknown local backend '{bad}'.*docker, process"):
        config.choose_backend(bad)


def test_broken_config_file_is_named(clean):
    path = write_config(clean, "{not json")
    with pytest.raises(LocalModeError, match=f"{path} is not valid JSON"):
        config.choose_backend()
