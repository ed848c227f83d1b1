"""Options shared by the local-mode commands: NAME=VALUE pairs, URIs, channels, content types, and the
option decorators (``--backend``, the code options, ``--instance-*``/``--env``)."""
import json
import os

import click

from framework_sdk import contract

BACKENDS = ("docker", "process")
INSTANCE_TYPES = contract.LOCAL_INSTANCE_TYPES
CONTENT_TYPES = {".csv": contract.CSV, ".json": contract.JSON, ".jsonl": contract.JSONLINES, ".npy": contract.NPY}


def _pairs(values, option):
    """``("a=1", "b=x")`` -> ``{"a": "1", "b": "x"}``; a value without ``=`` is a usage error."""
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint=option)
        pairs[name] = text
    return pairs


def _json_values(pairs):
    """``--hp`` values as JSON where they parse (``3``, ``0.5``, ``true``, ``[1, 2]``), else the text."""
    values = {}
    for name, text in pairs.items():
        try:
            values[name] = json.loads(text)
        except ValueError:
            values[name] = text
    return values


def _uri(text, option, must_exist=True):
    """``s3://``/``file://`` URIs as given; a local path becomes ``file://<absolute path>``."""
    if "://" in text:
        return text
    path = os.path.abspath(os.path.expanduser(text))
    if must_exist and not os.path.exists(path):
        raise click.BadParameter(f"{text!r}: no such file or folder", param_hint=option)
    return "file://" + path


def _channels(values):
    """``--channel NAME=URI`` values; a bare URI or path is the ``training`` channel, as ``fit(uri)`` does."""
    channels = {}
    for value in values:
        name, sep, uri = value.partition("=")
        if not sep or not contract.valid_channel_name(name):
            name, uri = "training", value
        channels[name] = _uri(uri, "--channel")
    return channels


def _guess_content_type(path):
    """The content type of a file by its extension; of a folder, when all its files agree; else None."""
    path = str(path or "")
    if os.path.isdir(path):
        types = {_guess_content_type(os.path.join(root, name))
                 for root, _, names in os.walk(path) for name in names if not name.startswith(".")}
        return types.pop() if len(types) == 1 else None
    return CONTENT_TYPES.get(os.path.splitext(path)[1].lower())


# Options shared by the local-mode commands.
def _backend_option(function):
    return click.option("--backend", type=click.Choice(BACKENDS),
                        help="Run in Docker containers or in plain processes (default: "
                             "$FRAMEWORK_SDK_LOCAL_BACKEND, the user config, then docker when an engine "
                             "answers).")(function)


def _code_options(role):
    need = {"training": "Required for a framework; optional for an image whose `train` needs none.",
            "processing": "Required for a framework; without it an image runs its own ENTRYPOINT (or --command)."
            }.get(role, "Optional: without it the image serves on its own (a framework image: code/ in the model, "
                        "or its defaults).")

    def decorate(function):
        function = click.option("--framework-version", metavar="VERSION",
                                help="Version of the framework named by IMAGE_OR_FRAMEWORK (default: the "
                                     "newest supported).")(function)
        function = click.option("--source-dir", type=click.Path(exists=True, file_okay=False),
                                help=f"Folder holding the {role} script and what it imports (and a "
                                     f"requirements.txt to install).")(function)
        function = click.option("--entry-point", metavar="SCRIPT",
                                help=f"The {role} script (relative to --source-dir when given). {need}")(function)
        return function

    return decorate


def _common_options(function):
    function = click.option("--env", "environment", multiple=True, metavar="NAME=VALUE",
                            help="An environment variable for the container (repeatable).")(function)
    function = click.option("--instance-type", type=click.Choice(INSTANCE_TYPES), default=contract.LOCAL,
                            show_default=True, help="local_gpu asks the engine for GPUs.")(function)
    function = click.option("--instance-count", type=click.IntRange(1), default=1, show_default=True,
                            help="Number of hosts (containers or processes).")(function)
    return function
