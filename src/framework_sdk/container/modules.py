"""The user's code: fetch it (S3, file://, folder, .tar.gz), install it with pip, import it or run it.

Public, for framework authors (each step usable alone):

- :func:`fetch` the code into a folder, :func:`install` its ``requirements.txt`` (or the folder
  itself when it is a project), :func:`install_code_channel` for a ``code`` channel;
- :func:`import_module` to import the entry point in this process (framework mode: call its
  ``train`` with :func:`framework_sdk.container.functions.call`);
- :func:`run` to run it as a script or module in a child process: returns the
  :class:`~framework_sdk.container.runners.ProcessResult` or raises :class:`UserScriptError`
  with the exit code and the last lines of its stderr; :func:`entry_point_command` is its argv.

Used by training and by the model server (:mod:`framework_sdk.container.serving.inference_code`).
SageMaker's toolkits call this module ``modules`` too; the processes are :mod:`~framework_sdk.container.runners`.
"""
import importlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from framework_sdk.container.archives import safe_extract
from framework_sdk.container.errors import ConfigurationError, ToolkitError
from framework_sdk.container.runners import run_process

logger = logging.getLogger("framework_sdk.container")

REQUIREMENTS_INSTALLED_ENV = "FRAMEWORK_SDK_REQUIREMENTS_INSTALLED"
S3_ENDPOINT_ENVS = ("S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")
PIP_ERROR_LINES = 40


class UserCodeError(ToolkitError, ValueError):
    """The user's code cannot be fetched or laid out; the message says what and how to fix it."""


class UserCodeInstallError(UserCodeError):
    """pip failed; the message carries pip's own error lines."""


class UserScriptError(ToolkitError, RuntimeError):
    """The user's script or module exited non-zero: ``exit_code`` and ``stderr_tail`` (its last stderr lines)."""

    def __init__(self, program, exit_code, stderr_tail=()):
        self.program, self.exit_code, self.stderr_tail = program, exit_code, list(stderr_tail)
        tail = "".join(f"\n  {line}" for line in self.stderr_tail)
        super().__init__(f"{program!r} failed with exit code {exit_code}" +
                         (f"; the last lines of its stderr:{tail}" if tail else ""))


# ---------------------------------------------------------------- fetch


def fetch(source, dest, region=None):
    """Return the folder holding the code named by ``source``, downloading/extracting into ``dest`` when needed.

    ``source``: ``s3://bucket/key.tar.gz``, ``file:///path`` or a plain path to a folder, a
    ``.tar.gz`` (or plain tar) archive, or a single script. A folder is used where it is.
    """
    source = str(source)
    dest = Path(dest)
    if source.startswith("s3://"):
        return _fetch_s3(source, dest, region)
    if source.startswith("file://"):
        parsed = urlparse(source)
        source = unquote(parsed.netloc + parsed.path)
    path = Path(source)
    if path.is_dir():
        return path
    if not path.exists():
        raise UserCodeError(f"the code location {source!r} does not exist; point sagemaker_submit_directory "
                            "(the estimator's source_dir) at a folder, a .tar.gz or an s3:// URI")
    if tarfile.is_tarfile(path):
        return safe_extract(path, dest)
    if path.suffix in (".py", ".sh"):
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / path.name)
        return dest
    raise UserCodeError(f"the code location {source!r} is neither a folder nor a tar archive (.tar.gz)")


def s3_client(region=None):
    """A boto3 S3 client honouring ``S3_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` (local S3 servers)."""
    import boto3

    endpoint = next((os.environ[name] for name in S3_ENDPOINT_ENVS if os.environ.get(name)), None)
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", endpoint_url=endpoint, region_name=region)


def _fetch_s3(uri, dest, region):
    from botocore.exceptions import BotoCoreError, ClientError

    parsed = urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise UserCodeError(f"{uri!r} is not a valid S3 URI; expected s3://bucket/path/sourcedir.tar.gz")
    with tempfile.TemporaryFile() as archive:
        try:
            s3_client(region).download_fileobj(bucket, key, archive)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchKey", "NoSuchBucket"):
                raise UserCodeError(f"the user code {uri} does not exist (S3 said {code}); check that the "
                                    "estimator uploaded its source_dir there") from None
            raise UserCodeError(f"cannot download the user code {uri}: {error}") from None
        except BotoCoreError as error:
            raise UserCodeError(f"cannot download the user code {uri}: {error}; check credentials and "
                                f"{' / '.join(S3_ENDPOINT_ENVS)}") from None
        archive.seek(0)
        try:
            return safe_extract(archive, dest)
        except tarfile.ReadError:
            raise UserCodeError(f"the user code {uri} is not a tar.gz archive") from None


# ---------------------------------------------------------------- install


def install(code_dir):
    """pip-install ``code_dir`` when it is a project (``setup.py``/``pyproject.toml``), else its ``requirements.txt``.

    ``requirements.txt`` is skipped when ``FRAMEWORK_SDK_REQUIREMENTS_INSTALLED=1`` (the local
    process backend pre-installed it). Raises :class:`UserCodeInstallError` with pip's error lines.
    """
    code_dir = Path(code_dir)
    if is_project(code_dir):
        logger.info("installing the user code project %s with pip", code_dir)
        pip_install([str(code_dir)], cwd=code_dir, what=f"the project in {code_dir}")
        return
    requirements = code_dir / "requirements.txt"
    if not requirements.is_file():
        return
    if os.environ.get(REQUIREMENTS_INSTALLED_ENV) == "1":
        logger.info("requirements.txt already installed (%s=1), skipping pip", REQUIREMENTS_INSTALLED_ENV)
        return
    logger.info("installing %s with pip", requirements)
    pip_install(["-r", str(requirements)], cwd=code_dir, what=str(requirements))


def is_project(folder):
    """True when ``folder`` has ``setup.py``, or a ``pyproject.toml`` declaring a project or build system."""
    folder = Path(folder)
    if (folder / "setup.py").is_file():
        return True
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        import tomllib  # type: ignore[import-not-found, unused-ignore]  # Python 3.11+
    except ImportError:  # pragma: no cover - Python < 3.11
        return True
    try:
        table = tomllib.loads(pyproject.read_text())
    except (ValueError, OSError):
        return True  # let pip report what is wrong with it
    return "project" in table or "build-system" in table


def pip_install(arguments, cwd, what):
    """Run ``python -m pip install <arguments>``, streaming its output; raise with pip's errors on failure."""
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *arguments]
    result = run_process(command, cwd=cwd, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                         tail_lines=PIP_ERROR_LINES, forward_signals=False)
    if result.returncode != 0:
        errors = result.stderr_tail or ["(pip printed nothing on stderr)"]
        raise UserCodeInstallError(
            f"pip could not install {what} (exit code {result.returncode}). pip said:\n" + "\n".join(errors))


# ---------------------------------------------------------------- code channel


def install_code_channel(channel_dir, packages_dir, model_code_dir=None):
    """Make a ``code`` channel importable; return ``packages_dir`` (to put on ``PYTHONPATH``).

    Folders with ``setup.py``/``pyproject.toml`` are pip-installed, folders with ``__init__.py`` are
    copied into ``packages_dir`` as packages, loose ``.py`` files are copied there, other folders are
    walked, and ``.tar.gz`` archives are unpacked and treated the same way. The channel's contents are
    also copied to ``model_code_dir`` (``model/code``) so serving can use them.
    """
    channel_dir, packages_dir = Path(channel_dir), Path(packages_dir)
    packages_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="code-channel-") as staging:
        _install_tree(channel_dir, packages_dir, Path(staging))
    if model_code_dir is not None:
        shutil.copytree(channel_dir, model_code_dir, dirs_exist_ok=True)
    return packages_dir


def _install_tree(folder, packages_dir, staging):
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            _install_folder(entry, packages_dir, staging)
        elif entry.name.endswith((".tar.gz", ".tgz")):
            unpacked = safe_extract(entry, staging / f"{entry.name}.unpacked")
            _install_tree(unpacked, packages_dir, staging)
        elif entry.suffix == ".py":
            logger.info("code channel: module %s", entry.name)
            shutil.copy2(entry, packages_dir / entry.name)


def _install_folder(folder, packages_dir, staging):
    if is_project(folder):
        logger.info("code channel: pip-installing the project %s", folder.name)
        build_copy = staging / f"project-{folder.name}"
        shutil.copytree(folder, build_copy)  # pip builds in-tree; the channel may be read-only
        pip_install([str(build_copy)], cwd=build_copy, what=f"the code channel project {folder.name}")
    elif (folder / "__init__.py").is_file():
        logger.info("code channel: package %s", folder.name)
        shutil.copytree(folder, packages_dir / folder.name, dirs_exist_ok=True)
    else:
        _install_tree(folder, packages_dir, staging)


# ---------------------------------------------------------------- import and run


_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def entry_point_command(code_dir, program, args, env=None, python=sys.executable):
    """The argv running ``program`` from ``code_dir``: a Python script, a shell script, an executable or a module."""
    if not program:
        raise ConfigurationError("no entry point: set the hyperparameter sagemaker_program (the estimator's "
                                 "entry_point) or the SAGEMAKER_PROGRAM environment variable")
    path = Path(code_dir) / program
    if path.is_file():
        if program.endswith(".py"):
            return [python, str(path), *args]
        if program.endswith(".sh"):
            return ["/bin/sh", str(path), *args]
        if not os.access(path, os.X_OK):
            path.chmod(path.stat().st_mode | 0o111)
        return [str(path), *args]
    if not program.endswith((".py", ".sh")) and _MODULE_NAME.fullmatch(program) and \
            _importable(program, code_dir, env, python):
        return [python, "-m", program, *args]
    present = sorted(entry.name for entry in Path(code_dir).iterdir()) if Path(code_dir).is_dir() else []
    raise ConfigurationError(
        f"the entry point {program!r} (sagemaker_program) does not exist in the code folder {code_dir} "
        f"(it holds: {', '.join(present[:20]) or 'nothing'}); make entry_point a file inside source_dir, "
        "or the name of an importable module")


def _importable(module, code_dir, env, python):
    probe = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 1)"
    try:
        found = subprocess.run([python, "-c", probe, module], cwd=code_dir, env=env, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0


def import_module(name, code_dir=None):
    """Import the user's module ``name`` (``train`` or ``train.py``), with ``code_dir`` first on ``sys.path``.

    Raises :class:`UserCodeError` when it cannot be found; errors the module raises at import propagate.
    """
    name = name[:-3] if name.endswith(".py") else name
    if code_dir is not None and str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    importlib.invalidate_caches()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name.split(".")[0] and error.name != name:
            raise
        raise UserCodeError(f"cannot import the user module {name!r}: it is not in {code_dir or 'sys.path'}; make "
                            "entry_point a .py file inside source_dir") from None


def run(code_dir, program, args=(), env=None, python=sys.executable, capture_error=True, tail_lines=50):
    """Run ``program`` (a script inside ``code_dir``, or an importable module) with ``args`` and ``env``.

    Output streams to ours line by line; SIGTERM/SIGINT are forwarded. Returns the
    :class:`~framework_sdk.container.runners.ProcessResult` of a zero exit; raises :class:`UserScriptError`
    (``exit_code``, ``stderr_tail``) otherwise, unless ``capture_error`` is false (then the result returns).
    """
    command = entry_point_command(code_dir, program, [str(arg) for arg in args], env, python)
    logger.info("running the user's entry point: %s", subprocess.list2cmdline(command))
    result = run_process(command, env=env, cwd=code_dir, tail_lines=tail_lines)
    if result.returncode != 0 and capture_error:
        raise UserScriptError(program, result.returncode, result.stderr_tail)
    return result
