"""Run a framework's start module under the toolkit's handling: ``python -m framework_sdk.container.runner PACKAGE.MODULE``.

The module runs as ``__main__`` would (its ``main()`` is called when it defines one, else its
top level is the program). Success writes ``output/success`` and exits 0; an exception writes
its reason and traceback to ``output/failure`` and exits non-zero (``SystemExit``'s code, a
:class:`~framework_sdk.container.modules.UserScriptError`'s ``exit_code``, else 1); SIGTERM
stops the module with exit code 143 and a failure file saying so. ``train`` in an image runs the
start module a registered framework names (``TRAINING_MODULE``) this way.
"""
import importlib
import logging
import runpy
import signal
import sys
import threading
import traceback

from framework_sdk.container import training
from framework_sdk.container.environment import base_dir_from_env
from framework_sdk.container.modules import _MODULE_NAME, UserScriptError

logger = logging.getLogger("framework_sdk.container")
USAGE = "usage: python -m framework_sdk.container.runner PACKAGE.MODULE"


SIGTERM_EXIT = 128 + signal.SIGTERM


def run_start_module(name):
    """Run the start module ``name``; record the outcome in ``output/``; return the exit code."""
    training._configure_logging(logging.INFO)
    output_dir = base_dir_from_env() / "output"
    try:
        with _terminating_on_sigterm() as sigterm:
            _run(name)
    except SystemExit as stop:
        if sigterm.received:
            return training._fail(output_dir, f"the start module {name} was stopped (SIGTERM)", SIGTERM_EXIT)
        if stop.code in (None, 0):
            return _succeed(output_dir)
        code = stop.code if isinstance(stop.code, int) else 1
        reason = f"{name} exited with code {code}" + ("" if isinstance(stop.code, int) else f": {stop.code}")
        return training._fail(output_dir, f"AlgorithmError: {reason}", code)
    except UserScriptError as error:
        return training._fail(output_dir, f"AlgorithmError: {error}", error.exit_code)
    except training.TrainingFailed as failure:
        return training._fail(output_dir, str(failure), failure.exit_code)
    except Exception as error:
        return training._fail(output_dir, f"AlgorithmError: {type(error).__name__}: {error}\n"
                              + traceback.format_exc(), 1)
    return _succeed(output_dir)


def _run(name):
    module = importlib.import_module(name)
    main = getattr(module, "main", None)
    if callable(main):
        main()
    else:
        runpy.run_module(name, run_name="__main__", alter_sys=True)


def _succeed(output_dir):
    training._write(output_dir / "success", "")
    logger.info("training succeeded")
    return 0


class _terminating_on_sigterm:
    """SIGTERM raises SystemExit (a BaseException, so the module's ``except Exception`` lets it pass)."""

    def __enter__(self):
        self.previous, self.received = None, False
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    def _raise(self, _number, _frame):
        self.received = True
        raise SystemExit(SIGTERM_EXIT)

    def __exit__(self, *_):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not _MODULE_NAME.fullmatch(argv[0]):
        print(USAGE, file=sys.stderr)
        return 2
    return run_start_module(argv[0])


if __name__ == "__main__":
    sys.exit(main())
