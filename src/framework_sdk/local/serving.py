"""Local model servers: start ``serve`` hosts on free ports and wait until ``/ping`` answers.

Used by endpoints (``CreateEndpoint``) and batch transform. ``ModelServers.start()``
returns once every host answers ``GET /ping`` with 200, or raises with the server's
log tail when a host exits first or the bounded wait runs out.

The inference code's ``requirements.txt`` (``code/`` in the model, else
``SAGEMAKER_SUBMIT_DIRECTORY``) is installed once by the backend (a cached layer on the
process backend, an image built once on the docker backend for framework images), never
into the shared environment, and the server is told so
(``FRAMEWORK_SDK_REQUIREMENTS_INSTALLED=1``), as for training jobs.
"""
import http.client
import threading
import time

from framework_sdk import contract
from framework_sdk.local import runs
from framework_sdk.local.backends.base import HostSpec, add_layer, in_parallel
from framework_sdk.local.errors import HostFailure, LocalModeError, PortInUse
from framework_sdk.local.storage import is_file_uri, local_path

STARTUP_TIMEOUT_SECONDS = 120
PORT_ATTEMPTS = 3


def ping(host, port, timeout=1.0):
    """``True`` when ``GET /ping`` on ``host:port`` answers 200."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", contract.PING)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def serving_message(host, detail):
    """``the model server on host algo-1 <detail>``, with the host's last log lines."""
    text = f"the model server on host {host.name} {detail}"
    if host.tail:
        text += f"\nlast log lines of {host.name}:\n" + "\n".join(host.tail)
    return text


class ModelServers:
    """``count`` serving hosts of one model (a ``CreateModel`` request) on ports of this machine."""

    def __init__(self, name, model, count, backend, storage, *, instance_type=contract.LOCAL, work_dir=None,
                 serving_port=None, startup_timeout=STARTUP_TIMEOUT_SECONDS, environment=None):
        self.name = name
        self.model = model
        self.count = int(count)
        self.backend = backend
        self.storage = storage
        self.instance_type = instance_type
        self.work_dir = work_dir
        self.serving_port = serving_port
        self.startup_timeout = startup_timeout
        self.extra_environment = dict(environment or {})
        self.group = f"fsdk-{name}"
        self.hosts = []
        self.logs = runs.LogBook()
        self.root = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._layer = None  # (image to run, environment additions) for the inference code's requirements
        self.run_image = None

    @property
    def image(self):
        container = self.model.get("PrimaryContainer") or (self.model.get("Containers") or [{}])[0]
        if not container.get("Image"):
            raise LocalModeError(f"model {self.model.get('ModelName')!r} names no container image")
        return container["Image"]

    @property
    def container(self):
        return self.model.get("PrimaryContainer") or (self.model.get("Containers") or [{}])[0]

    @property
    def urls(self):
        address = self.backend.serving_address()
        return [f"http://{address}:{host.spec.port}" for host in self.hosts]

    def start(self):
        """Start every host and wait until all answer ``/ping``; on failure nothing is left running."""
        self.backend.check_image(self.image)
        runs.track(self)
        self.root = runs.new_root(self.name, self.work_dir)
        try:
            model_dir = self._fetch_model()
            for index in range(1, self.count + 1):
                self._start_host(contract.host_name(index), index, model_dir)
        except BaseException:
            self.stop()
            raise
        return self

    def _fetch_model(self):
        uri = self.container.get("ModelDataUrl")
        if not uri:
            return None
        path = self.storage.fetch(uri, self.root / "model-data")
        return path

    def _spec(self, name, index, model_dir, port):
        tree = runs.host_tree(self.root, name)
        layout = contract.Layout(tree)  # links are named relative to its base, as the host sees it too
        environment = dict(self.container.get("Environment", {}))
        environment.update(self.extra_environment)
        spec = HostSpec(name=name, role=contract.SERVE, root=tree, environment=environment, port=port)
        archives = []
        if model_dir is not None:
            archives = [model_dir] if model_dir.is_file() else sorted(model_dir.glob("*.tar.gz"))
            for archive in archives:
                runs.extract(archive, layout.model_dir)
            if not archives:  # uncompressed model data: the folder itself is the model
                spec.links.append((model_dir, layout.relative(layout.model_dir)))
        code = environment.get(contract.SUBMIT_DIRECTORY_ENV, "")
        path = None
        if is_file_uri(code):
            path = local_path(code)
            if not path.exists():
                raise LocalModeError(f"{contract.SUBMIT_DIRECTORY_ENV}={code} does not exist on this machine")
        elif code.startswith("s3://"):
            path = self._downloaded_code(code)  # here, so its requirements are installed once too
        if path is not None:
            relative = layout.relative(layout.code_dir) if path.is_dir() else f"code-archive/{path.name}"
            spec.links.append((path, relative))
            environment[contract.SUBMIT_DIRECTORY_ENV] = f"{self.backend.base_dir(spec)}/{relative}"
        self._add_layer(environment, layout.model_dir if model_dir is None or archives else model_dir, path)
        return spec

    def _downloaded_code(self, uri):
        folder = self.root / "submitted-code"
        if not folder.exists():
            self.storage.fetch(uri, folder)
        files = [path for path in folder.iterdir()]
        return files[0] if len(files) == 1 and files[0].is_file() else folder

    def _add_layer(self, environment, model_folder, submitted):
        """Run the inference code's requirements from the backend's cache (once per endpoint)."""
        if self._layer is None:
            requirements = self._requirements_file(model_folder, submitted)
            layer = requirements and self.backend.requirements_layer(self.image, requirements, self._note)
            self._layer = layer or (self.image, {})
        self.run_image, additions = self._layer
        add_layer(environment, additions)

    def _requirements_file(self, model_folder, submitted):
        """The ``requirements.txt`` the model server would pip-install: that of ``code/`` in the model,
        else of ``SAGEMAKER_SUBMIT_DIRECTORY`` (a folder or a ``.tar.gz``); ``None`` when there is none."""
        code = model_folder / contract.INFERENCE_CODE_DIR
        if code.is_dir():
            return runs.code_requirements(code, None)
        if submitted is None:
            return None
        return runs.code_requirements(submitted, self.root / "submitted-code-unpacked")

    def _start_host(self, name, index, model_dir):
        fixed = self.serving_port + index - 1 if self.serving_port else None
        for attempt in range(PORT_ATTEMPTS):
            port = fixed or runs.free_port()
            if fixed and not runs.port_is_free(fixed):
                raise PortInUse(fixed, "set by serving_port; free it or leave serving_port unset so "
                                       "local mode picks free ports")
            spec = self._spec(name, index, model_dir, port)
            try:
                (host,) = self.backend.start(self.group, self.run_image, [spec],
                                             gpu=self.instance_type == contract.LOCAL_GPU, on_line=self._line)
            except PortInUse:
                if fixed or attempt == PORT_ATTEMPTS - 1:
                    raise
                runs.remove_tree(spec.root)
                continue  # another program took the free port first: pick another
            with self._lock:
                self.hosts.append(host)
            try:
                self._wait_ready(host)
            except _BindFailed:
                with self._lock:
                    self.hosts.remove(host)
                host.remove()
                runs.remove_tree(spec.root)
                if fixed or attempt == PORT_ATTEMPTS - 1:
                    raise PortInUse(port, "the server could not bind it") from None
                continue
            return host

    def _line(self, host, line):
        self.logs.add(f"{host.name} | {line}")

    def _note(self, line):
        self.logs.add(f"[framework-sdk] {line}")

    def _wait_ready(self, host):
        """Retry ``/ping`` with a short backoff until 200, the host exits, or the bound runs out."""
        address = self.backend.serving_address()
        deadline = time.monotonic() + self.startup_timeout
        delay = 0.005
        while True:
            if host.exited.is_set():
                text = "\n".join(host.tail)
                if "address already in use" in text.lower() or "port is already allocated" in text.lower():
                    raise _BindFailed()
                raise HostFailure(serving_message(host, f"{host.describe_exit()} before answering /ping"),
                                  host=host.name, exit_code=host.exit_code)
            if ping(address, host.spec.port, timeout=min(2.0, self.startup_timeout)):
                return
            if time.monotonic() > deadline:
                raise HostFailure(serving_message(
                    host, f"did not answer /ping within {self.startup_timeout:g} s (startup_timeout)"
                    + (f"; it must listen on {contract.BIND_TO_PORT_ENV}={host.spec.port}"
                       if self.backend.name == "process" else "")), host=host.name)
            # Sleep on the host's exit event, so a crash is noticed at once.
            host.exited.wait(delay)
            delay = min(delay * 2, 0.1)

    def stop(self, reason=None):
        """Stop every host and remove its tree; idempotent."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        with self._lock:
            hosts, self.hosts = list(self.hosts), []
        def remove(host):
            try:
                host.remove()
            except Exception:
                pass  # a host that is already gone

        in_parallel(remove, hosts)
        self.backend.release(self.group)
        if self.root is not None:
            try:
                for host in hosts:
                    self.backend.hand_back(self.image, host.spec.root)
            finally:
                runs.remove_tree(self.root)
        self.logs.close()
        runs.untrack(self)


class _BindFailed(Exception):
    """The server exited because its port was taken."""
