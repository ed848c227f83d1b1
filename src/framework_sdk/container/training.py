"""``train``: read the ``/opt/ml`` tree, set up the user's code, run it, record the outcome.

Success writes ``output/success`` and exits 0. Any failure writes ``output/failure`` with what
failed (configuration, install, import, the script and its exit code, MPI, out of memory) and the
last lines of the script's stderr, and exits non-zero (the script's own code where there is one).
"""
import logging
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path

from framework_sdk.container import frameworks, runners
from framework_sdk.container.archives import UnsafeArchiveError
from framework_sdk.container.environment import Environment, base_dir_from_env
from framework_sdk.container.errors import ConfigurationError, ToolkitError
from framework_sdk.container.modules import (UserCodeError, _importable, entry_point_command, fetch, install,
                                             install_code_channel)

logger = logging.getLogger("framework_sdk.container")

CODE_CHANNEL = "code"
OOM_EXIT_CODE = 137
USER_ERRORS = (ConfigurationError, UserCodeError, UnsafeArchiveError, runners.MPIError)


class TrainingFailed(ToolkitError):
    """The job failed in a way the report explains; ``exit_code`` is what ``train`` returns."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


def main(argv=None):
    """Run the training job described by the tree under ``SAGEMAKER_BASE_DIR`` (or ``/opt/ml``); return the exit code."""
    if argv:
        print(f"train takes no arguments (got {argv}); the job is described by the /opt/ml tree", file=sys.stderr)
        return 2
    _configure_logging(logging.INFO)
    output_dir = base_dir_from_env() / "output"
    try:
        run_training()
    except TrainingFailed as failure:
        return _fail(output_dir, str(failure), failure.exit_code)
    except USER_ERRORS as error:
        return _fail(output_dir, f"{type(error).__name__}: {error}", 1)
    except Exception:  # a bug in the toolkit: say so, never blame the user
        return _fail(output_dir, "framework-sdk internal error (a bug in the training toolkit, not in your code; "
                     "please report it with this text):\n" + traceback.format_exc(), 1)
    _write(output_dir / "success", "")
    logger.info("training succeeded")
    return 0


def run_training():
    """The ``train`` flow; raises :class:`TrainingFailed` (or a configuration error) when the job fails."""
    environment = load_environment()
    logging.getLogger().setLevel(environment.log_level)
    local = runners.local_hosts()
    distributed_worker = environment.use_mpi and not environment.is_master
    # Every host has these, a worker too: its ranks write there (launched here or by the master).
    for folder in (environment.model_dir, environment.output_data_dir, environment.output_intermediate_dir):
        folder.mkdir(parents=True, exist_ok=True)
    if distributed_worker and local:
        status = runners.run_mpi_worker(environment, local=True)
        _check_master_status(environment, status)
        return
    environment.check_channels()
    code_dir = prepare_code(environment)
    env = script_env(environment, code_dir)
    command = entry_point_command(code_dir, environment.program, environment.to_cmd_args(), env)
    if distributed_worker:
        status = runners.run_mpi_worker(environment, local=False)
        _check_master_status(environment, status)
        return
    if environment.use_mpi:
        command = abort_on_exception(command, code_dir, env)
        result = runners.run_mpi_master(environment, command, env, code_dir, local=local)
    else:
        logger.info("invoking the user's entry point: %s", subprocess.list2cmdline(command))
        try:
            result = runners.run_process(command, env=env, cwd=code_dir)
        except OSError as error:
            raise TrainingFailed(
                f"AlgorithmError: cannot start the entry point {environment.program!r}: {error.strerror}; an "
                "executable needs a '#!' line naming its interpreter (or name it .py / .sh)") from None
    if result.returncode != 0:
        raise TrainingFailed(describe_failure(environment, result), result.returncode)


def load_environment():
    """The job's :class:`Environment`, with the image's framework defaults (``FRAMEWORK_SDK_FRAMEWORK``) merged in."""
    environment = Environment.from_files()
    framework = frameworks.load(os.environ.get(frameworks.FRAMEWORK_ENV, ""))
    if framework is not None:
        environment = environment.with_framework_defaults(frameworks.training_defaults(framework, environment))
    return environment


def prepare_code(environment):
    """Fetch and install the user's code and the ``code`` channel; return the folder to run in."""
    source = environment.submit_directory
    if source:
        code_dir = fetch(source, environment.code_dir, region=environment.region)
    else:
        code_dir = environment.code_dir
        if not code_dir.is_dir():
            raise ConfigurationError(
                f"no user code: sagemaker_submit_directory is not set and {code_dir} does not exist; pass "
                "source_dir/entry_point to the estimator or put the code in the image at /opt/ml/code")
    install(code_dir)
    channel = environment.channel_dirs.get(CODE_CHANNEL)
    if channel is not None and channel.is_dir():
        install_code_channel(channel, code_channel_packages(environment), environment.model_dir / "code")
    return Path(code_dir).resolve()


def code_channel_packages(environment):
    """Where the ``code`` channel's packages and modules go (same path on every host)."""
    return environment.base_dir / "code-channel"


def script_env(environment, code_dir):
    """The user process's environment: ours, the ``SM_*`` variables, and a PYTHONPATH with the code."""
    env = dict(os.environ)
    env.update(environment.to_env_vars())
    paths = [str(code_dir)]
    if CODE_CHANNEL in environment.input_data_config:
        paths.append(str(code_channel_packages(environment)))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    if environment.job_name:
        env.setdefault("TRAINING_JOB_NAME", environment.job_name)
    if environment.region:
        env.setdefault("AWS_REGION", str(environment.region))
    return env


def abort_on_exception(command, code_dir, env, python=sys.executable):
    """Under MPI, run a Python entry point as ``python -m mpi4py ...`` when mpi4py is installed.

    A rank whose script raises then calls ``MPI_Abort`` and the whole job fails with its traceback,
    instead of the other ranks waiting forever in a collective call (mpi4py's documented remedy).
    """
    if command[:1] == [python] and _importable("mpi4py", code_dir, env, python):
        return [python, "-m", "mpi4py", *command[1:]]
    return command


# ---------------------------------------------------------------- reporting


def describe_failure(environment, result):
    """The failure report for a user process that exited with ``result.returncode``."""
    what = "the MPI job (mpirun)" if environment.use_mpi else f"the training script {environment.program!r}"
    code = result.returncode
    if code == OOM_EXIT_CODE:
        headline = (f"{what} was killed (exit code 137, SIGKILL), most likely out of memory; use an instance "
                    "with more memory or lower the batch size")
    elif code > 128:
        headline = f"{what} was killed by signal {code - 128} (exit code {code})"
    else:
        headline = f"{what} failed with exit code {code}"
    lines = [f"AlgorithmError: {headline}."]
    hint = _hint(environment, result.stderr_tail)
    if hint:
        lines.append(f"Hint: {hint}")
    if result.stderr_tail:
        lines.append("Last lines of its stderr:")
        lines.extend(result.stderr_tail)
    return "\n".join(lines)


def _hint(environment, stderr_tail):
    text = "\n".join(stderr_tail)
    channel = re.search(r"KeyError: '(SM_CHANNEL_\w+)'", text)
    if channel:
        return (f"the script reads {channel.group(1)} but the job has no such channel (channels: "
                f"{sorted(environment.input_data_config) or 'none'}); pass it in fit(inputs={{...}})")
    missing = re.search(r"ModuleNotFoundError: No module named '([^']+)'", text)
    if missing:
        return (f"the script could not import {missing.group(1)!r}: list it in requirements.txt next to the "
                "entry point (or in setup.py) so it is installed before training")
    return ""


def _check_master_status(environment, status):
    if status != 0:
        raise TrainingFailed(f"AlgorithmError: the MPI run on the master host {environment.master_host} failed "
                             f"with exit code {status}; see that host's output/failure for the details", status)


def _fail(output_dir, message, exit_code):
    logger.error("training failed:\n%s", message)
    _write(output_dir / "failure", message + "\n")
    return exit_code or 1


def _write(path, text):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as error:
        logger.error("cannot write %s: %s", path, error)


def _configure_logging(level):
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s train: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
