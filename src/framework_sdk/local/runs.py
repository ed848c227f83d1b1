"""What jobs, endpoints and transforms share: log books, temporary roots, tarballs, timestamps, cleanup at exit."""
import atexit
import datetime
import os
import signal
import shutil
import tarfile
import tempfile
import threading
import weakref
from pathlib import Path

from framework_sdk.container.modules import is_project
from framework_sdk.local import cleanup

ROOT_PREFIX = "framework-sdk-local-"
EXIT_GRACE_SECONDS = 10  # what a training job's programs get between SIGTERM and SIGKILL when Python exits
_live: "weakref.WeakSet[object]" = weakref.WeakSet()  # runs with a stop() method
_previous_sigterm = None  # the SIGTERM handler in place before ours (set once ours is installed)


def utc_now():
    """The time now, timezone-aware in UTC, as boto3 gives SageMaker's timestamps (``CreationTime`` ...)."""
    return datetime.datetime.now(datetime.timezone.utc)


class LogBook:
    """Every log line of a run, in order; ``follow()`` yields them live until the run ends."""

    def __init__(self):
        self.lines = []
        self._changed = threading.Condition()
        self.closed = False

    def add(self, line):
        with self._changed:
            self.lines.append(line)
            self._changed.notify_all()

    def close(self):
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def follow(self, start=0):
        """Yield lines from ``start`` on, waiting for new ones until the book is closed."""
        index = start
        while True:
            with self._changed:
                self._changed.wait_for(lambda: index < len(self.lines) or self.closed)  # noqa: B023 (called at once)
                batch = self.lines[index:]
                done = self.closed
            index += len(batch)
            yield from batch
            if done and index >= len(self.lines):
                return


def new_root(name, parent=None):
    """A fresh temporary folder for one run (removed by :func:`remove_tree`, or by the next session's cleanup
    should this Python be killed)."""
    root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{name}-", dir=parent))
    cleanup.remember("roots", str(root))
    return root


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
    cleanup.forget("roots", str(path))


def host_tree(root, name, folders=()):
    """Create ``root/name`` with the SageMaker /opt/ml layout (and ``folders`` inside); returns it."""
    tree = Path(root) / name
    for folder in ("input/config", "input/data", "model", "output/data", *folders):
        (tree / folder).mkdir(parents=True, exist_ok=True)
    return tree


def tar_directory(source, target):
    """Pack the contents of ``source`` into the gzipped tarball ``target`` (members relative to it)."""
    with tarfile.open(target, "w:gz", compresslevel=6) as archive:
        for path in sorted(Path(source).iterdir()):
            archive.add(path, arcname=path.name)
    return target


def extract(tarball, destination):
    """Unpack ``tarball`` into ``destination`` refusing links or paths that escape it."""
    with tarfile.open(tarball) as archive:
        archive.extractall(destination, filter="data")


def code_requirements(code, scratch):
    """The ``requirements.txt`` the toolkit would pip-install from ``code`` (a folder, or a ``.tar.gz``
    unpacked once into ``scratch``); ``None`` when there is none or ``code`` is a project pip installs."""

    code = Path(code)
    if code.is_file():
        if not Path(scratch).exists():
            extract(code, scratch)
        code = Path(scratch)
    requirements = code / "requirements.txt"
    if is_project(code) or not requirements.is_file():
        return None
    return requirements


def has_files(folder):
    return any(p.is_file() for p in Path(folder).rglob("*"))


def track(run):
    """Stop ``run`` (anything with ``stop()``) if it is still going when Python exits or gets SIGTERM."""
    _live.add(run)
    handle_sigterm()


def untrack(run):
    _live.discard(run)


@atexit.register
def _stop_all(reason="the Python process exited"):
    for run in list(_live):
        try:
            if hasattr(run, "stop_grace"):  # a training job: a short grace, Python is on its way out
                run.stop(f"stopped: {reason}", grace=min(run.stop_grace, EXIT_GRACE_SECONDS))
            else:
                run.stop(f"stopped: {reason}")
        except Exception:
            pass


def handle_sigterm():
    """Stop every run when this Python gets SIGTERM (which skips ``atexit``), then end as SIGTERM would have.

    Installed once, from the main thread only; a handler the program set before is called after ours.
    """
    global _previous_sigterm
    if _previous_sigterm is not None or threading.current_thread() is not threading.main_thread():
        return
    try:
        _previous_sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main interpreter
        _previous_sigterm = None


def _on_sigterm(number, frame):
    _stop_all("the Python process got SIGTERM")
    previous = _previous_sigterm
    if callable(previous):
        previous(number, frame)
    elif previous != signal.SIG_IGN:  # the default: die of SIGTERM, as without us
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def merge_tree(source, target):
    """Copy the files of ``source`` into ``target``, keeping files already there."""
    for path in Path(source).rglob("*"):
        if path.is_file():
            destination = Path(target) / path.relative_to(source)
            if not destination.exists():
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)


def free_port():
    """A TCP port free on this machine right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port):
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


