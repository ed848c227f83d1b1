"""``serve``: read the environment, prepare the user code, run the supervisor; returns the exit code.

Exit codes: 0 after SIGTERM/SIGINT, 1 when start-up failed (the last log line says why),
2 for a bad environment variable.
"""
import logging
import multiprocessing
import sys

from framework_sdk.container.errors import ConfigurationError, StartupError
from framework_sdk.container.serving import inference_code
from framework_sdk.container.serving.config import ServerConfig
from framework_sdk.container.serving.errors import fatal
from framework_sdk.container.serving.supervisor import Supervisor

USAGE = """usage: serve

Runs the model server of the SageMaker container contract (GET /ping, POST /invocations,
GET /execution-parameters) on SAGEMAKER_BIND_TO_PORT (8080), configured by environment
variables; see doc/serving.md."""


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv:
        print(f"serve takes no arguments (got {' '.join(argv)}); configure it with environment variables\n\n"
              + USAGE, file=sys.stderr)
        return 2
    try:
        config = ServerConfig.from_env()
    except ConfigurationError as error:
        _setup_logging(logging.INFO)
        fatal(f"model server did not start: {error}")
        return 2
    _setup_logging(config.log_level)
    _preload()
    try:
        code_dir = inference_code.prepare(config)
        return Supervisor(config, code_dir).run()
    except StartupError as error:
        fatal(f"model server did not start: {error}")
        return 1


def _setup_logging(level):
    multiprocessing.current_process().name = "supervisor"
    logging.basicConfig(level=level, stream=sys.stderr, force=True,
                        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")


def _preload():
    """Import what every worker needs before forking, so each fork starts warm."""
    for name in ("numpy", "orjson", "uvicorn", "uvloop", "httptools",
                 "uvicorn.protocols.http.httptools_impl", "framework_sdk.container.serving.app"):
        try:
            __import__(name)
        except ImportError:
            pass
