"""Start the API server: the local engine, its state, the WSGI app, served by uvicorn.

uvicorn (already the project's server for the model server) serves the WSGI app through
a2wsgi's thread pool: the engine's calls block (an ``InvokeEndpoint`` waits for the model
server, a ``DeleteEndpoint`` for the hosts to stop) and moto is a WSGI app, so WSGI is the
natural interface, and a2wsgi is what uvicorn itself now recommends for it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from framework_sdk.api.app import HEALTH_PATH, ApiApp
from framework_sdk.api.logs import LogsApi
from framework_sdk.api.s3 import S3Persistence, moto_app
from framework_sdk.api.sagemaker import SageMakerApi
from framework_sdk.api.store import Store, lock_state_dir
from framework_sdk.exceptions import ConfigurationError

log = logging.getLogger("framework_sdk.api")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
WORKERS = 32  # threads for blocking calls: invocations and deletes wait on model servers


@dataclasses.dataclass
class ApiServer:
    """The parts of a running server, closed in order by :meth:`close`."""

    url: str
    app: ApiApp
    sagemaker: SageMakerApi
    store: Store
    s3_persistence: S3Persistence
    lock: Any

    def close(self) -> None:
        self.sagemaker.close()
        self.s3_persistence.sync()
        self.store.close()
        self.lock.release()


def build(state_dir: Path, url: str, backend: str | None = None, allow_paths: tuple[Path, ...] = (),
          credentials: tuple[str, str] | None = None) -> ApiServer:
    """Lock ``state_dir``, open its store, bring S3 and SageMaker state back, and make the app."""
    import boto3

    from framework_sdk.local.backends.docker import DockerBackend
    from framework_sdk.local.backends.process import ProcessBackend
    from framework_sdk.local.clients import LocalSageMakerClient
    from framework_sdk.local.config import choose_backend, configured_image_folders, user_config
    from framework_sdk.local.runtime import LocalRuntimeClient
    from framework_sdk.local.storage import Storage

    state_dir = state_dir.resolve()
    lock = lock_state_dir(state_dir)
    store = Store(state_dir / "state.sqlite3")
    persistence = S3Persistence(store, state_dir / "s3")
    restored = persistence.restore()
    config = user_config()
    name, reason = choose_backend(backend)
    log.info("backend: %s (%s); %d S3 objects restored", name, reason, restored)
    engine_backend = (DockerBackend(None) if name == "docker" else
                      ProcessBackend(config.get("python"), list(configured_image_folders(config))))
    # The engine reads s3:// channels and code, and writes model.tar.gz, through this same server.
    access_key, secret_key = credentials or ("framework-sdk", "local")
    storage = Storage(lambda: boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                                           aws_access_key_id=access_key, aws_secret_access_key=secret_key))
    work_dir = state_dir / "runs"
    work_dir.mkdir(exist_ok=True)
    engine = LocalSageMakerClient(engine_backend, storage, work_dir=str(work_dir))
    sagemaker = SageMakerApi(engine, store, [state_dir, *allow_paths])
    endpoints = engine.endpoints  # type: ignore[attr-defined]  # set from the shared tables in __init__
    app = ApiApp(sagemaker, LogsApi(store), LocalRuntimeClient(endpoints), moto_app(), persistence,
                 credentials)
    sagemaker.restore()
    return ApiServer(url, app, sagemaker, store, persistence, lock)


def bind(host: str, port: int, signed: bool = False) -> socket.socket:
    """The listening socket (port 0: a free one), bound before the server starts so its URL is known.
    Beyond loopback, only a server that checks signatures (``signed``) may listen."""
    if host not in LOOPBACK and not signed:
        raise ConfigurationError(f"--host {host} makes the server reachable from other machines: give it the key "
                                 f"requests must be signed with (--access-key and --secret-key, or "
                                 f"--credentials-file), or listen on 127.0.0.1")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise ConfigurationError(f"cannot listen on {host}:{port} ({error}); choose another --port") from None
    return listener


def serve(host: str, port: int, state_dir: Path, backend: str | None = None,
          allow_paths: tuple[Path, ...] = (), announce: Callable[[str], None] = print,
          credentials: tuple[str, str] | None = None) -> None:
    """Serve in the foreground until SIGINT/SIGTERM; ``announce(url)`` once the server answers."""
    try:
        import uvicorn
        from a2wsgi import WSGIMiddleware
        import moto  # noqa: F401  (S3, STS, IAM)
    except ImportError as error:
        raise ConfigurationError(f"the API server needs {error.name}: pip install 'framework-sdk[api]'") from None

    listener = bind(host, port, signed=credentials is not None)
    address = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        address = "127.0.0.1"  # the URL this machine's clients use (and the engine's own S3 client)
    url = f"http://{address}:{listener.getsockname()[1]}"
    try:
        api = build(state_dir, url, backend, allow_paths, credentials)
    except BaseException:
        listener.close()
        raise
    server = _server_class()(uvicorn.Config(WSGIMiddleware(api.app, workers=WORKERS),  # type: ignore[arg-type]
                                           log_level="warning", access_log=False, lifespan="off"))
    threading.Thread(target=_announce_when_up, args=(server, url, announce), daemon=True).start()
    try:
        server.run(sockets=[listener])
    finally:
        api.close()


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, but SIGINT/SIGTERM end it cleanly (exit 0, state closed) rather than being
        raised again after the shutdown, which would kill the process before the engine is stopped."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


def _announce_when_up(server: Any, url: str, announce: Callable[[str], None], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not server.should_exit:
        if server.started:
            try:
                with urllib.request.urlopen(url + HEALTH_PATH, timeout=5) as answer:
                    if answer.status == 200:
                        announce(url)
                        return
            except OSError:
                pass
        time.sleep(0.05)


def read_credentials(path: Path) -> tuple[str, str]:
    """``{"AccessKeyId": ..., "SecretAccessKey": ...}`` from a JSON file (as `aws sts` prints them)."""
    import json

    try:
        document = json.loads(path.read_text())
        return str(document["AccessKeyId"]), str(document["SecretAccessKey"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigurationError(f"{path}: expected a JSON object with AccessKeyId and SecretAccessKey ({error})") \
            from None
