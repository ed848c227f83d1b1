"""The Docker engine as the build tool uses it: a client that answers, and progress lines for long steps.

docker is imported only when an engine is used.
"""
import sys
import threading
import time
from collections import deque

from framework_sdk.images.definitions import ImageError

BUILD_READ_TIMEOUT = 1800  # seconds a build step may stay silent before we give up on it
HEARTBEAT_SECONDS = 30


def docker_client(client=None):
    """``client``, or a docker-py client for the engine of ``DOCKER_HOST`` (or the default socket) that answers."""
    if client is not None:
        return client
    try:
        import docker

        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except Exception as error:
        raise ImageError(f"no Docker engine answers ({error}); start one (dockerd), or set DOCKER_HOST "
                         f"to an engine that answers") from error


def has_image(client, name):
    import docker

    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def image_id(client, name):
    """The id of image ``name`` in the engine, or None."""
    import docker

    try:
        return client.images.get(name).id
    except docker.errors.ImageNotFound:
        return None


class Progress:
    """Step headers as they come, and a heartbeat line while a long step stays silent."""

    def __init__(self, emit, verbose=False):
        self.emit, self.verbose = emit or print_line, verbose
        self.tail = deque(maxlen=40)
        self.title, self.started, self.last_line = None, time.monotonic(), ""
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def step(self, title, short=None):
        with self._lock:
            self.title, self.started = short or title.strip().split(" : ")[0], time.monotonic()
        self.emit(title)

    def line(self, text):
        text = text.rstrip()
        if not text:
            return
        self.tail.append(text)
        with self._lock:
            self.last_line = text
        if self.verbose:
            self.emit(f"    {text}")

    def _beat(self):
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with self._lock:
                title, elapsed, last = self.title, time.monotonic() - self.started, self.last_line
            if title and elapsed >= HEARTBEAT_SECONDS:
                self.emit(f"    ... {elapsed:.0f} s into {title}: {last.strip()[:100]}")


def shorten(text, width=110):
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def print_line(text):
    print(text, file=sys.stderr, flush=True)
