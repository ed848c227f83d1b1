"""The user's inference code: find it, fetch and install it, import it, as SageMaker's model servers do.

The code is ``code/`` inside the model folder (``model.tar.gz`` extracted into
``/opt/ml/model``), else ``SAGEMAKER_SUBMIT_DIRECTORY`` (a folder, ``.tar.gz``,
``s3://`` or ``file://``). Its ``requirements.txt`` is installed before any worker
starts. The module is ``SAGEMAKER_PROGRAM``, else ``inference.py`` when present.
"""
import importlib
import logging
import os
import sys
from pathlib import Path

from framework_sdk import contract
from framework_sdk.container import modules
from framework_sdk.container.serving.errors import StartupError

DEFAULT_PROGRAM = "inference.py"
log = logging.getLogger("framework_sdk.serving")


def prepare(config):
    """Locate the user code folder, fetching and installing it if needed; ``None`` when there is none.

    Runs once in the supervisor, before workers start. Raises :class:`StartupError`.
    """
    bundled = config.layout.inference_code_dir
    if bundled.is_dir():
        code_dir = bundled
        log.info("user code: %s (code/ inside the model folder)", code_dir)
    elif config.submit_directory:
        try:
            code_dir = Path(modules.fetch(config.submit_directory, config.layout.code_dir))
        except Exception as error:
            raise StartupError(f"cannot fetch {contract.SUBMIT_DIRECTORY_ENV}={config.submit_directory!r}: "
                               f"{error}") from error
        log.info("user code: %s (from %s=%s)", code_dir, contract.SUBMIT_DIRECTORY_ENV, config.submit_directory)
    else:
        return None
    try:
        modules.install(code_dir)  # requirements.txt, or the folder itself when it is a project
    except Exception as error:
        raise StartupError(f"installing the user code in {code_dir} failed, so the server did not start: "
                           f"{error}") from error
    return code_dir


def program_path(code_dir, program):
    """The user's module file inside ``code_dir``, or ``None`` when no program is named or found."""
    if code_dir is None:
        if program:
            raise StartupError(f"{contract.PROGRAM_ENV}={program!r} is set but there is no user code: put it in "
                               f"code/ inside the model folder or set {contract.SUBMIT_DIRECTORY_ENV}")
        return None
    if program:
        path = code_dir / program
        if not path.exists() and not path.suffix and (code_dir / f"{program}.py").exists():
            path = code_dir / f"{program}.py"
        if not path.exists():
            found = ", ".join(sorted(p.name for p in code_dir.iterdir())[:20]) or "nothing"
            raise StartupError(f"{contract.PROGRAM_ENV}={program!r} is not in {code_dir} (found: {found})")
        return path
    default = code_dir / DEFAULT_PROGRAM
    return default if default.is_file() else None


def import_program(code_dir, program):
    """Import the user module (its folder goes first on ``sys.path``); ``None`` when there is none."""
    path = program_path(code_dir, program)
    if path is None:
        return None
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    os.environ.setdefault(contract.PROGRAM_ENV, path.name)
    name = path.stem if path.suffix == ".py" else path.name
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit) as error:  # a script may call sys.exit() at import
        log.exception("importing the user module %s failed", path)
        raise StartupError(f"importing {path} failed: {type(error).__name__}: {error} "
                           "(traceback above)") from error
