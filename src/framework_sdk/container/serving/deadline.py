"""Per-request time limit inside a worker: SIGALRM raises :class:`RequestTimeout` in the handler.

The kernel timer interrupts Python code and blocking calls (``time.sleep``, I/O). A handler
stuck in C code that never returns to Python is caught by the supervisor instead, which
watches each worker's ``busy since`` slot in shared memory and kills the worker.
"""
import signal
import time

from framework_sdk.container.serving.errors import RequestTimeout


class Deadline:
    """``with deadline:`` around one request's handler code; ``expired`` tells the worker to retire."""

    def __init__(self, seconds, busy_slots=None, slot=0):
        self.seconds = float(seconds)
        self.active = False
        self.expired = False
        self._busy = busy_slots
        self._slot = slot
        signal.signal(signal.SIGALRM, self._on_alarm)

    def _on_alarm(self, signum, frame):
        if self.active:  # a late signal after the request finished is ignored
            self.active = False
            self.expired = True
            raise RequestTimeout(f"the request ran longer than SAGEMAKER_MODEL_SERVER_TIMEOUT={self.seconds:g}s")

    def __enter__(self):
        if self._busy is not None:
            self._busy[self._slot] = time.monotonic()
        self.active = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc_info):
        self.active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        if self._busy is not None:
            self._busy[self._slot] = 0.0
        return False
