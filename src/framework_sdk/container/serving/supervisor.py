"""The supervisor: binds the port, forks the workers, restarts the ones that die, kills stuck ones.

It waits on events only (worker exit sentinels, a readiness pipe, signals) with a bounded
timeout, at which it also checks each worker's ``busy since`` slot in shared memory: a
request still running ``grace`` seconds past the timeout (its SIGALRM could not interrupt
it) gets its worker killed and replaced.
"""
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
from multiprocessing.sharedctypes import RawArray

from framework_sdk.container.serving import worker
from framework_sdk.container.serving.errors import StartupError, fatal

log = logging.getLogger("framework_sdk.serving")


class Supervisor:
    """Runs ``config.workers`` workers until SIGTERM/SIGINT (exit 0) or a start-up failure (exit 1)."""

    def __init__(self, config, code_dir):
        self.config = config
        self.code_dir = code_dir
        self.grace = max(2.0, min(10.0, config.timeout / 2))
        self.processes = {}
        self.ready = set()
        self.failures = {}
        self.context = multiprocessing.get_context("fork")
        self.busy = RawArray("d", config.workers)
        self.port = None

    def run(self):
        self.socket = bind(self.config.host, self.config.port)
        self.port = self.socket.getsockname()[1]
        self.notify_r, self.notify_w = os.pipe()
        self.signal_r, signal_w = os.pipe()
        os.set_blocking(signal_w, False)
        signal.set_wakeup_fd(signal_w)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)  # the wake-up byte is what counts
        log.info("starting %d worker(s) on port %d (timeout %gs, max payload %g MB)", self.config.workers,
                 self.port, self.config.timeout, self.config.max_payload_mb)
        for slot in range(self.config.workers):
            self._start(slot)
        try:
            failure = self._loop()
        finally:
            self._stop_all()
        if failure:  # logged once the other workers are gone, so it is the log's last line
            fatal(f"model server stopped: {failure}")
            return 1
        return 0

    def _start(self, slot):
        args = (slot, self.config, self.code_dir, self.socket, self.busy, self.notify_w, os.getpid())
        process = self.context.Process(target=_worker_main, args=args, name=f"worker-{slot}")
        process.start()
        self.processes[slot] = process
        self.busy[slot] = 0.0

    def _loop(self):
        """Serve until a signal (returns ``None``) or a worker that could not start (returns why)."""
        while True:
            sentinels = {process.sentinel: slot for slot, process in self.processes.items()}
            events = multiprocessing.connection.wait([self.signal_r, self.notify_r, *sentinels], self.grace / 2)
            if self.signal_r in events:
                signals = os.read(self.signal_r, 64)
                log.info("received %s; stopping the workers", ", ".join(signal.Signals(s).name for s in signals))
                return None
            if self.notify_r in events:
                self._read_notifications()
            for sentinel in events:
                if sentinel in sentinels:
                    failure = self._exited(sentinels[sentinel])
                    if failure:
                        return failure
            self._kill_stuck()

    def _read_notifications(self):
        for line in os.read(self.notify_r, 4096).decode().splitlines():
            kind, slot, pid, *reason = line.split(" ", 3)
            if kind == "failed":
                self.failures[int(slot)] = reason[0] if reason else "unknown error"
            elif kind == "ready":
                first = not self.ready
                self.ready.add(int(slot))
                log.info("worker %s ready (pid %s)", slot, pid)
                if first:
                    log.info("model server ready on http://%s:%d", self.config.host, self.port)

    def _exited(self, slot):
        process = self.processes.pop(slot)
        process.join(5)  # its sentinel fired: it is exiting, so this returns at once
        code = process.exitcode
        how = f"was killed by {signal.Signals(-code).name}" if code and code < 0 else f"exited with code {code}"
        if slot not in self.ready:
            reason = self.failures.get(slot, f"it {how} (see above)")
            return f"worker {slot} (pid {process.pid}) could not start: {reason}"
        self.ready.discard(slot)
        log.warning("worker %d (pid %d) %s; starting a replacement", slot, process.pid, how)
        self._start(slot)
        return None

    def _kill_stuck(self):
        now = time.monotonic()
        for slot, started in enumerate(self.busy):
            if started and now - started > self.config.timeout + self.grace and slot in self.processes:
                process = self.processes[slot]
                log.error("worker %d (pid %d) has run one request for %.1fs, past the %gs timeout, and did "
                          "not stop; killing it", slot, process.pid, now - started, self.config.timeout)
                self.busy[slot] = 0.0
                os.kill(process.pid, signal.SIGKILL)

    def _stop_all(self):
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + max(5.0, min(30.0, self.config.timeout))
        pending = [p for p in self.processes.values()]
        while pending and time.monotonic() < deadline:
            multiprocessing.connection.wait([p.sentinel for p in pending], deadline - time.monotonic())
            pending = [p for p in pending if p.is_alive()]
        for process in pending:
            log.warning("worker pid %d did not stop in time; killing it", process.pid)
            process.kill()
            process.join(5)
        self.processes.clear()
        self.socket.close()


def bind(host, port):
    """A bound, not yet listening TCP socket (listening starts with the first ready worker)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise StartupError(f"cannot bind {host}:{port}: {error.strerror}; free the port or set "
                           "SAGEMAKER_BIND_TO_PORT to another one") from None
    return sock


def _worker_main(*args):
    raise SystemExit(worker.run(*args))
