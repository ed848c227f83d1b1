"""A local job or endpoint run in the foreground of a terminal: errors of ours as messages, Ctrl-C or
SIGTERM stops and removes it, its log lines go to the terminal."""
import contextlib
import signal
import threading

import click


def _local_session(backend, **options):
    from framework_sdk.local import LocalSession

    return LocalSession(backend=backend, **options)


@contextlib.contextmanager
def _friendly_errors(what):
    """Errors of ours become ``Error: <message>`` (exit 1); Ctrl-C or SIGTERM stops ``what`` (exit 130)."""
    from framework_sdk.exceptions import SDKError

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    # SIGINT too: a shell starts background jobs with SIGINT ignored, and `kill -INT` must still stop them.
    handlers = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: interrupt}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()} if _main_thread() else {}
    try:
        yield
    except SDKError as error:
        raise click.ClickException(str(error)) from error
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: {what} was stopped and removed", err=True)
        raise SystemExit(130) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main_thread():
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _uninterrupted():
    """Hold off Ctrl-C and SIGTERM while cleaning up, so nothing is left half removed."""
    if not _main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _write_lines(stream):
    """A ``write``/``flush`` object for the session's log printer that goes to ``stream`` via click."""

    class Lines:
        @staticmethod
        def write(text):
            click.echo(text, nl=False, err=stream == "stderr")

        @staticmethod
        def flush():
            pass

    return Lines()
