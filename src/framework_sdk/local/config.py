"""Which local backend runs jobs: an argument, an environment variable, the user config file, or a probe.

Order: ``LocalSession(backend=...)``, then ``FRAMEWORK_SDK_LOCAL_BACKEND``, then
``{"local": {"backend": ...}}`` in ``$XDG_CONFIG_HOME/framework-sdk/config.json``
(``~/.config/framework-sdk/config.json``), then ``docker`` when an engine answers and
``process`` otherwise. The choice and its reason are logged on ``framework_sdk.local``.
The same section may list ``"image_folders"`` for the process backend (bring-your-own images).
"""
import json
import logging
import os
from pathlib import Path

from framework_sdk.local.errors import LocalModeError

BACKENDS = ("docker", "process")
ENV_VAR = "FRAMEWORK_SDK_LOCAL_BACKEND"
log = logging.getLogger("framework_sdk.local")


def config_path():
    """The user config file: ``$XDG_CONFIG_HOME/framework-sdk/config.json``."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "framework-sdk" / "config.json"


def user_config():
    """The ``local`` section of the user config file (``{}`` when there is none)."""
    path = config_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as error:
        raise LocalModeError(f"{path} is not valid JSON ({error}); fix or delete it") from None
    section = data.get("local", {}) if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise LocalModeError(f'{path}: "local" must be an object such as {{"backend": "process"}}')
    return section


def configured_image_folders(section=None):
    """``"image_folders"`` of the ``local`` section: paths, ``~`` expanded, relative to the config file."""
    section = user_config() if section is None else section
    folders = section.get("image_folders", [])
    if isinstance(folders, str) or not all(isinstance(folder, str) for folder in folders):
        raise LocalModeError(f'{config_path()}: "image_folders" must be a list of folder paths, '
                             f'such as ["~/src/decision-trees"]')
    return [config_path().parent / Path(folder).expanduser() for folder in folders]


def docker_engine_error(timeout=3):
    """``None`` when a Docker engine answers (``DOCKER_HOST`` or the default socket), else why not."""
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:  # docker-py raises many kinds for "no engine"
        return f"{type(error).__name__}: {error}"
    return None


def engine_address():
    return os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"


def _validate(name, where):
    if name not in BACKENDS:
        raise LocalModeError(f"unknown local backend {name!r} from {where}; choose one of: {', '.join(BACKENDS)}")
    return name


def choose_backend(requested=None):
    """``(backend name, reason)``; an explicit ``docker`` choice fails clearly when no engine answers."""
    if requested:
        name, reason = _validate(requested, "LocalSession(backend=...)"), "chosen by LocalSession(backend=...)"
    elif os.environ.get(ENV_VAR):
        name, reason = _validate(os.environ[ENV_VAR], f"${ENV_VAR}"), f"chosen by ${ENV_VAR}"
    elif user_config().get("backend"):
        name, reason = _validate(user_config()["backend"], str(config_path())), f"chosen in {config_path()}"
    else:
        error = docker_engine_error()
        if error is None:
            name, reason = "docker", f"a Docker engine answers at {engine_address()}"
        else:
            name, reason = "process", (f"no Docker engine answers at {engine_address()} ({error}); "
                                       f"set {ENV_VAR}=docker once one runs")
        log.info("local mode: using the %s backend: %s", name, reason)
        return name, reason
    if name == "docker":
        error = docker_engine_error()
        if error is not None:
            raise LocalModeError(
                f"the docker backend was {reason} but no Docker engine answers at "
                f"{engine_address()} ({error}). Start the engine or set DOCKER_HOST, or run without "
                f"Docker: LocalSession(backend='process') or {ENV_VAR}=process")
    log.info("local mode: using the %s backend: %s", name, reason)
    return name, reason
