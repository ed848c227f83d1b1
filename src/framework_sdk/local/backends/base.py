"""What every backend provides: hosts that run ``train``, ``serve`` or a given command against their own /opt/ml tree.

A backend starts one :class:`Host` per :class:`HostSpec`. A host reads its output line
by line in a thread, hands each line to ``on_line`` and, when the program ends,
records the exit code and calls ``on_exit``: callers wait on those events, never
on a timer.
"""
import collections
import dataclasses
import threading
from pathlib import Path

from framework_sdk import contract

TAIL_LINES = 40
REQUIREMENTS_INSTALLED = contract.REQUIREMENTS_INSTALLED_ENV


@dataclasses.dataclass
class HostSpec:
    """One host of a job or endpoint, as the contract sees it.

    The host runs the image's program for ``role`` (``train`` / ``serve`` as the command), unless
    ``entrypoint`` or ``arguments`` is given: then it runs as ``docker run --entrypoint ENTRYPOINT
    IMAGE ARGUMENTS`` does (a processing job's ``ContainerEntrypoint`` and ``ContainerArguments``).
    """

    name: str                       # "algo-1"
    role: str                       # "train", "serve" or "process"
    root: Path                      # this host's /opt/ml tree on this machine
    environment: dict = dataclasses.field(default_factory=dict)
    links: list = dataclasses.field(default_factory=list)  # (local path, path relative to /opt/ml)
    port: "int | None" = None       # serve: the port on this machine
    volumes: list = dataclasses.field(default_factory=list)  # (local folder, absolute path the host sees), writable
    entrypoint: "list | None" = None  # replaces the image's ENTRYPOINT
    arguments: "list | None" = None   # the command instead of [role]

    @property
    def runs_own_command(self):
        """True when ``entrypoint``/``arguments`` say what runs, not ``role``."""
        return self.entrypoint is not None or self.arguments is not None


class Host:
    """A running host; subclasses implement ``_stream``, ``_exit_status``, ``_terminate``, ``_remove``."""

    def __init__(self, spec, on_line=None, on_exit=None):
        self.spec = spec
        self.name = spec.name
        self.tail = collections.deque(maxlen=TAIL_LINES)
        self.exit_code = None
        self.exit_reason = ""       # e.g. "killed (out of memory)"
        self.exited = threading.Event()
        self.stopping = False
        self._on_line = on_line
        self._on_exit = on_exit
        self._reader = None

    def watch(self):
        """Start the thread that reads output and notices the exit."""
        self._reader = threading.Thread(target=self._watch, name=f"local-{self.name}", daemon=True)
        self._reader.start()

    def _watch(self):
        try:
            for line in self._stream():
                self.tail.append(line)
                if self._on_line is not None:
                    self._on_line(self, line)
        except Exception as error:  # a broken log stream must not hide the exit
            self.tail.append(f"[framework-sdk: log stream failed: {error}]")
        try:
            self.exit_code, self.exit_reason = self._exit_status()
        except Exception as error:
            self.exit_code, self.exit_reason = -1, f"its status could not be read ({error})"
        self.exited.set()
        if self._on_exit is not None:
            self._on_exit(self)

    def wait(self, timeout=None):
        """The exit code once the host ended, or ``None`` if it is still running after ``timeout``."""
        self.exited.wait(timeout)
        return self.exit_code

    def stop(self, grace=5.0):
        """Ask the program to stop, kill it after ``grace`` seconds, and wait (bounded) for its end."""
        if not self.exited.is_set():
            self.stopping = True
            self._terminate(grace)
            if self._reader is not None:  # a host that never started has no exit to wait for
                self.exited.wait(grace + 10)
        if self._reader is not None:
            self._reader.join(5)

    def remove(self):
        """Stop the host and free what the backend holds for it (container, process)."""
        self.stop()
        self._remove()

    def describe_exit(self):
        """``'exited with code 1'``, ``'was killed (SIGKILL, exit code 137)'``, ..."""
        if self.exit_reason:
            return f"{self.exit_reason} (exit code {self.exit_code})"
        if self.exit_code is not None and self.exit_code < 0:
            import signal

            try:
                name = signal.Signals(-self.exit_code).name
            except ValueError:
                name = f"signal {-self.exit_code}"
            return f"was killed by {name}"
        if self.exit_code is not None and self.exit_code > 128:
            import signal

            try:
                name = signal.Signals(self.exit_code - 128).name
                return f"was killed by {name} (exit code {self.exit_code})"
            except ValueError:
                pass
        return f"exited with code {self.exit_code}"

    # ---- for subclasses
    def _stream(self):
        raise NotImplementedError

    def _exit_status(self):
        raise NotImplementedError

    def _terminate(self, grace):
        raise NotImplementedError

    def _remove(self):
        pass


def add_layer(environment, additions):
    """Put a requirements layer's ``additions`` (``FRAMEWORK_SDK_REQUIREMENTS_INSTALLED=1``) into ``environment``.

    A layer is never a ``PYTHONPATH``: Python searches that before the standard library, so a
    requirement shipping, say, ``typing.py`` would replace the real one; backends run another
    image (docker) or another interpreter (process) instead.
    """
    environment.update(additions)
    return environment


def in_parallel(action, hosts):
    """Call ``action(host)`` for every host at once and wait for all (stopping hosts one by one adds up)."""
    hosts = list(hosts)
    if len(hosts) < 2:
        for host in hosts:
            action(host)
        return
    threads = [threading.Thread(target=action, args=(host,), daemon=True) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class Backend:
    """Runs hosts; ``name`` is ``docker`` or ``process``."""

    name: "str | None" = None

    def base_dir(self, spec):
        """Where the host sees its /opt/ml tree."""
        raise NotImplementedError

    def writable_folder(self, spec, folder, path):
        """Make the local ``folder`` (inside ``spec.root``) the folder the host knows as ``path`` (an absolute
        container path such as ``/opt/ml/checkpoints``); returns where the host's program finds it."""
        raise NotImplementedError

    def check_image(self, image):
        """Raise :class:`LocalModeError` with the fix when ``image`` cannot run here."""
        raise NotImplementedError

    def requirements_layer(self, image, requirements_file, on_line=None):
        """``(image to run, environment additions)`` giving the program ``requirements_file`` installed
        once and cached (the additions hold ``FRAMEWORK_SDK_REQUIREMENTS_INSTALLED=1``), or ``None``
        when the program installs them itself. ``on_line`` receives the install's output lines."""
        return None

    def start(self, group, image, specs, *, gpu=False, on_line=None, on_exit=None):
        """Start one host per spec (all in one ``group``, e.g. a job name); returns the started hosts."""
        raise NotImplementedError

    def release(self, group):
        """Free what ``group`` holds beyond its hosts (a network); idempotent."""

    def hand_back(self, image, root):
        """Make ``root`` (written by the host) owned by the caller again; nothing to do by default."""

    def serving_address(self):
        """The host name where published serving ports answer."""
        return "127.0.0.1"

    def leftovers(self):
        """Names of anything this backend started that still exists (for tests and diagnostics)."""
        return []
