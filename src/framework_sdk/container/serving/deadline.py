"""Per-request time limit inside a worker: SIGALRM raises :class:`RequestTimeout` in the handler.

The kernel timer interrupts Python code and blocking calls (``time.sleep``, I/O). A handler
stuck in C code that never returns to Python is caught by the supervisor instead, which
watches each worker's ``busy since`` slot in shared memory and kills the worker.

The timer costs no system call per request under load: it is armed when no alarm is pending,
and an alarm that comes early for the request then running (it was armed by an earlier one)
re-arms itself for the rest of that request's time. An alarm between requests is ignored.
"""
import signal
import time

from framework_sdk.container.serving.errors import RequestTimeout

_MIN_REARM = 0.001  # setitimer(0) would disarm


class Deadline:
    """``with deadline:`` around one request's handler code; ``expired`` tells the worker to retire."""

    def __init__(self, seconds, busy_slots=None, slot=0):
        self.seconds = float(seconds)
        self.active = False
        self.expired = False
        self.started = 0.0
        self.armed = False
        self._busy = busy_slots
        self._slot = slot
        signal.signal(signal.SIGALRM, self._on_alarm)

    def _on_alarm(self, signum, frame):
        self.armed = False
        if not self.active:  # between requests: nothing to time
            return
        remaining = self.started + self.seconds - time.monotonic()
        if remaining > 0:  # armed during an earlier request: wait out this one's own time
            self._arm(max(remaining, _MIN_REARM))
            return
        self.active = False
        self.expired = True
        raise RequestTimeout(f"the request ran longer than SAGEMAKER_MODEL_SERVER_TIMEOUT={self.seconds:g}s")

    def _arm(self, seconds):
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, seconds)

    def __enter__(self):
        self.started = time.monotonic()
        if self._busy is not None:
            self._busy[self._slot] = self.started
        self.active = True
        if not self.armed:  # after ``active``: an alarm handled in between re-arms by itself
            self._arm(self.seconds)
        return self

    def __exit__(self, *exc_info):
        self.active = False
        if self._busy is not None:
            self._busy[self._slot] = 0.0
        return False
