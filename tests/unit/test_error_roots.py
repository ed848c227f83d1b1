"""One exception root per audience: the client's errors derive from SDKError, the toolkit's from ToolkitError."""
import importlib
import inspect
import io
import pkgutil
import tarfile

import click
import pytest
from click.testing import CliRunner

import framework_sdk
from framework_sdk import codecs
from framework_sdk.container.errors import ConfigurationError as ToolkitConfigurationError
from framework_sdk.container.errors import ToolkitError
from framework_sdk.exceptions import ConfigurationError, SDKError

# codecs and the contract are shared by both halves and import nothing of ours (codecs: but the contract); the
# client raises SerializationError instead of a codec's error, the toolkit its ConfigurationError for the contract's.
SHARED = {"framework_sdk.codecs.CodecError", "framework_sdk.codecs.UnsupportedContentType",
          "framework_sdk.contract.ContractError"}
# A BaseException on purpose, so a handler's `except Exception` cannot swallow a timeout; it never leaves the server.
NOT_AN_ERROR = {"framework_sdk.container.serving.errors.RequestTimeout"}


def exception_classes(prefix):
    """``{qualified name: class}`` of the public exception classes defined in the modules under ``prefix``."""
    found = {}
    names = [module.name for module in pkgutil.walk_packages(framework_sdk.__path__, "framework_sdk.")]
    for name in ["framework_sdk", *names]:
        if not name.startswith(prefix) or name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name
                    and not attribute.startswith("_")):
                found[f"{name}.{attribute}"] = value
    return found


def test_every_client_error_derives_from_sdk_error():
    client = {name: cls for name, cls in exception_classes("framework_sdk").items()
              if not name.startswith("framework_sdk.container.")}
    assert "framework_sdk.local.errors.LocalModeError" in client  # the walk found the client's modules
    strays = sorted(name for name, cls in client.items()
                    if not issubclass(cls, SDKError) and name not in SHARED)
    assert strays == []


def test_every_toolkit_error_derives_from_toolkit_error():
    toolkit = exception_classes("framework_sdk.container.")
    assert "framework_sdk.container.serving.errors.HTTPError" in toolkit
    strays = sorted(name for name, cls in toolkit.items() if not issubclass(cls, ToolkitError) and name not in NOT_AN_ERROR)
    assert strays == []


def test_the_toolkit_has_one_configuration_error():
    from framework_sdk.container import environment
    from framework_sdk.container.serving.config import ServerConfig

    assert environment.ConfigurationError is ToolkitConfigurationError
    with pytest.raises(ToolkitConfigurationError, match="SAGEMAKER_MODEL_SERVER_WORKERS"):
        ServerConfig.from_env({"SAGEMAKER_MODEL_SERVER_WORKERS": "many"})


def test_codec_failures_reach_the_caller_as_sdk_errors_and_codec_errors():
    from framework_sdk.serializers import JSONDeserializer, NumpyDeserializer, NumpySerializer

    with pytest.raises(SDKError, match="malformed JSON") as caught:
        JSONDeserializer().deserialize(io.BytesIO(b"{"), codecs.JSON)
    assert isinstance(caught.value, codecs.CodecError) and caught.value.content_type == codecs.JSON
    with pytest.raises(SDKError, match="unsupported content type"):
        NumpyDeserializer().deserialize(io.BytesIO(b"1"), "image/png")
    with pytest.raises(SDKError, match="object arrays"):
        NumpySerializer().serialize([{"a": 1}])


def test_a_hostile_model_archive_is_an_sdk_error(tmp_path):
    from framework_sdk.container.archives import UnsafeArchiveError
    from framework_sdk.packaging import repack_model

    (tmp_path / "serve.py").write_text("def model_fn(model_dir):\n    return None\n")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(SDKError, match="'../escape.txt'") as caught:
        repack_model(str(archive), "serve.py", str(tmp_path))
    assert isinstance(caught.value, UnsafeArchiveError) and caught.value.member == "../escape.txt"


def test_the_cli_reports_any_sdk_error_as_a_message_not_a_traceback():
    from framework_sdk.cli import main

    @click.command("fails")
    def fails():
        raise ConfigurationError("the thing is wrong: do this instead")

    main.add_command(fails)
    try:
        result = CliRunner().invoke(main, ["fails"])
    finally:
        main.commands.pop("fails")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: the thing is wrong: do this instead"
    assert not isinstance(result.exception, ConfigurationError)  # click handled it: no traceback
