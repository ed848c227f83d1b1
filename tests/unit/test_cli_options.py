"""The command line without Docker or network: help, option parsing, usage errors, endpoint names."""
import os

import pytest
from click.testing import CliRunner

from framework_sdk.cli import frameworks, main, options, predict
from framework_sdk.local import registry


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*arguments, **kwargs):
    return CliRunner().invoke(main, [str(argument) for argument in arguments], **kwargs)


@pytest.mark.parametrize("command, options", [
    ("train", ["--entry-point", "--source-dir", "--channel", "--hp", "--instance-count", "--backend",
               "--output-path", "--framework-version", "--metric", "--plot"]),
    ("serve", ["--model-data", "--entry-point", "--source-dir", "--port", "--backend", "--name"]),
    ("predict", ["--endpoint", "--content-type", "--accept", "FILE"]),
    ("transform", ["--model-data", "--input", "--output", "--content-type", "--split-type", "--strategy",
                   "--entry-point"]),
    ("check", ["--entry-point", "--source-dir", "--serving-entry-point", "--hp"]),
    ("endpoints", []),
    ("images", ["build", "list"]),
    ("images build", ["NAMES", "--no-cache", "--base-image", "--verbose"]),
    ("images list", []),
])
def test_help_is_complete(command, options):
    result = invoke(*command.split(), "--help")
    assert result.exit_code == 0
    for option in options:
        assert option in result.output


def test_the_top_level_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("images", "train", "serve", "predict", "transform", "check", "endpoints"):
        assert f"  {command} " in result.output


def test_hyperparameters_are_json_where_they_parse():
    pairs = options._pairs(["epochs=3", "lr=0.5", "flag=true", "layers=[1, 2]", "name=resnet", "empty=",
                            "eq=a=b"], "--hp")
    assert options._json_values(pairs) == {"epochs": 3, "lr": 0.5, "flag": True, "layers": [1, 2],
                                           "name": "resnet", "empty": "", "eq": "a=b"}


def test_a_value_without_equals_is_a_usage_error():
    result = invoke("train", "some-image:1", "--hp", "epochs")
    assert result.exit_code == 2 and "'epochs' is not NAME=VALUE" in result.output


def test_channels_name_uri_or_bare_paths(state):
    (state / "data").mkdir()
    assert options._channels(["train=data", "test=s3://bucket/test", "file:///x=1/y"]) == {
        "train": f"file://{state}/data", "test": "s3://bucket/test", "training": "file:///x=1/y"}
    with pytest.raises(Exception, match="no such file or folder"):
        options._channels(["train=missing"])


def test_content_types_guessed_from_files_and_folders(state):
    (state / "batch").mkdir()
    (state / "batch" / "a.csv").write_text("1\n")
    (state / "batch" / "b.csv").write_text("2\n")
    assert options._guess_content_type(state / "batch") == "text/csv"
    (state / "batch" / "c.json").write_text("[]")
    assert options._guess_content_type(state / "batch") is None  # mixed: no guess
    assert options._guess_content_type("x.npy") == "application/x-npy"
    assert options._guess_content_type("x.bin") is None


def test_framework_version_defaults_to_the_newest(monkeypatch):
    from framework_sdk import image_uris

    monkeypatch.setitem(image_uris.FRAMEWORKS, "toyfw", {"1.9.0": ("py3",), "1.10.0": ("py3",), "1.2": ("py3",)})
    assert frameworks._framework_version("toyfw", None) == "1.10.0"
    assert frameworks._framework_version("toyfw", "1.2") == "1.2"


def test_a_framework_needs_an_entry_point():
    result = invoke("train", "python", "--backend", "process")
    assert result.exit_code == 2 and "--entry-point" in result.output


def test_source_dir_without_entry_point_is_a_usage_error(state):
    result = invoke("train", "some-image:1", "--source-dir", ".", "--backend", "process")
    assert result.exit_code == 2 and "--source-dir needs --entry-point" in result.output


def test_predict_names_the_running_endpoints_when_one_is_unknown(state):
    registry.register("fraud-model", ["http://127.0.0.1:9"], image="fraud:1")
    try:
        result = invoke("predict", "--endpoint", "no-such-endpoint", "-", input=b"1,2\n")
        assert result.exit_code == 1
        assert "no local endpoint named 'no-such-endpoint'" in result.output and "fraud-model" in result.output
        listed = invoke("endpoints")
        assert "fraud-model" in listed.output and "http://127.0.0.1:9" in listed.output
        assert predict._invocations_url("fraud-model") == "http://127.0.0.1:9/invocations"
    finally:
        registry.unregister("fraud-model")
    assert registry.lookup("fraud-model") is None


def test_urls_are_used_as_given():
    assert predict._invocations_url("http://host:8080") == "http://host:8080/invocations"
    assert predict._invocations_url("http://host:8080/invocations/") == "http://host:8080/invocations"


def test_registry_drops_entries_of_processes_that_are_gone(state):
    folder = registry.endpoints_dir()
    folder.mkdir(parents=True)
    pid = 2 ** 22 + 7  # above pid_max's default: no such process
    (folder / "stale.json").write_text(f'{{"name": "stale", "urls": ["http://127.0.0.1:1"], "pid": {pid}}}')
    (folder / "broken.json").write_text("{not json")
    assert registry.lookup("stale") is None and not (folder / "stale.json").exists()
    assert registry.running() == []


def test_registry_leaves_another_process_entry_alone(state):
    registry.register("shared", ["http://127.0.0.1:2"])
    path = registry.endpoints_dir() / "shared.json"
    path.write_text(path.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {os.getppid()}'))
    registry.unregister("shared")  # not ours any more: kept
    assert registry.lookup("shared")["pid"] == os.getppid()
    path.unlink()
