"""One worker process: load the model, then serve the shared socket with uvicorn.

The supervisor binds the socket without listening, so connections are refused until the
first worker has loaded its model and starts listening: ``/ping`` can never answer early.
"""
import logging
import os
import signal
import sys

from framework_sdk.container.serving import inference_code, predictor_class, typed
from framework_sdk.container.serving.app import ServingApp
from framework_sdk.container.serving.deadline import Deadline
from framework_sdk.container.serving.errors import StartupError
from framework_sdk.container.serving.handlers import Context, HandlerChain, load_framework

EXIT_STARTUP_FAILURE = 3
log = logging.getLogger("framework_sdk.serving")


def build_service(config, code_dir, worker_id, deadline):
    """Import the user code and pick the mode: a predictor class, typed JSON, or the handler chain (model loaded)."""
    if code_dir is not None and str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))  # helper modules and predictor classes live there too
    module = inference_code.import_program(code_dir, config.program)
    class_path = config.predictor_class or predictor_class.class_path_from_model(config.model_dir)
    if class_path:
        return predictor_class.PredictorClassService(class_path, config)
    if typed.is_typed(module):
        return typed.TypedService(module, config, deadline)
    chain = HandlerChain(module, config, load_framework())
    chain.load(Context(worker_id, config.model_dir))
    return chain


def run(slot, config, code_dir, sock, busy, notify_fd, master_pid):
    """The worker's whole life; returns its exit code (:data:`EXIT_STARTUP_FAILURE` if it never served)."""
    _follow_parent(master_pid)
    deadline = Deadline(config.timeout, busy, slot)
    keep_request_memory(config.max_payload_bytes)
    try:
        service = build_service(config, code_dir, slot, deadline)
    except StartupError as error:
        log.error("worker %d: %s", slot, error)
        return _failed(notify_fd, slot, str(error))
    except BaseException as error:  # model_fn and friends: any failure stops start-up
        log.error("worker %d: loading the model failed: %s: %s", slot, type(error).__name__, error,
                  exc_info=error)
        return _failed(notify_fd, slot, f"loading the model failed: {type(error).__name__}: {error}")
    server = _server(config, None, lambda: _notify(notify_fd, f"ready {slot} {os.getpid()}\n"))
    server.config.app = ServingApp(service, config, deadline, slot,
                                   on_expired=lambda: setattr(server, "should_exit", True))
    server.run(sockets=[sock])
    return 0


_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit
_TRIM_THRESHOLD_MAX = 64 * 1024 * 1024


def keep_request_memory(max_payload_bytes):
    """Let glibc keep request-sized buffers in the heap between requests.

    By default each large body is allocated by growing the heap (``brk``) and handed back to the
    kernel when freed, so the next request faults in fresh zeroed pages again: ~3 ``brk`` calls and
    dozens of page faults per 256 KB request. Keeping up to a few payloads' worth of freed memory
    (at most 64 MB) removes that cost; memory stays bounded by the payload limit.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - no mallopt in this libc
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    mallopt(M_MMAP_THRESHOLD, min(_MMAP_THRESHOLD_MAX, max(1 << 20, 2 * max_payload_bytes)))
    mallopt(M_TRIM_THRESHOLD, min(_TRIM_THRESHOLD_MAX, max(4 << 20, 4 * max_payload_bytes)))


def _server(config, app, on_started):
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if self.started:
                on_started()

    options = dict(
        lifespan="off", access_log=config.log_level <= logging.DEBUG, log_config=None,
        server_header=False, timeout_keep_alive=75, timeout_graceful_shutdown=max(5, int(config.timeout)),
        backlog=2048, log_level=config.log_level,
    )
    options["loop"] = "uvloop" if _has("uvloop") else "asyncio"
    options["http"] = "httptools" if _has("httptools") else "h11"
    server = Server(uvicorn.Config(app, **options))
    return server


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _failed(notify_fd, slot, reason):
    """Tell the supervisor why (one line, short enough for one atomic pipe write) and give the exit code."""
    first = reason.strip().splitlines()[0] if reason.strip() else "unknown error"
    _notify(notify_fd, f"failed {slot} {os.getpid()} {first[:500]}\n")
    return EXIT_STARTUP_FAILURE


def _notify(fd, message):
    os.write(fd, message.encode())


def _follow_parent(master_pid):
    """Reset the supervisor's signal handling and die with it (Linux ``PR_SET_PDEATHSIG``)."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != master_pid:
        os._exit(1)
