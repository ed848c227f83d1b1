"""The docker backend: one container per host, through docker-py against ``DOCKER_HOST`` or the default socket.

Hosts of a multi-host job share a user-defined network where each answers to its
name (``algo-1``, ``algo-2``), so mpirun over ssh works across containers. The
host's /opt/ml tree is bind-mounted at ``/opt/ml``; ``file://`` channels and code
are bind-mounted read-only inside it. Containers run as the image's user (root in
SageMaker images, which sshd needs); when the caller is not root the tree is handed
back to the caller (``chown``) before it is read, so nothing root-owned is left.
A framework image runs a user's ``requirements.txt`` from an image built once with it
installed (:meth:`DockerBackend.requirements_layer`).
Every container and network carries the label ``framework-sdk.local``.
"""
import os
import threading
from urllib.parse import urlparse

from framework_sdk import contract
from framework_sdk.local import cleanup, requirement_images
from framework_sdk.local.backends.base import Backend, Host
from framework_sdk.local.errors import LocalModeError, PortInUse

LABEL = "framework-sdk.local"
CONTAINER_PORT = contract.DEFAULT_PORT  # the port the model server listens on inside the container


def _build_hint(image):
    repo, _, tag = image.rpartition("/")[2].partition(":")
    if repo.startswith("framework-sdk-") and tag:
        framework = repo[len("framework-sdk-"):]
        version = tag.split("-")[0]
        return f"build it with: framework-sdk images build {framework} --version {version}"
    return f"build it with: docker build -t {image} <folder with its Dockerfile>"


class DockerHost(Host):
    def __init__(self, spec, container, on_line=None, on_exit=None):
        super().__init__(spec, on_line=on_line, on_exit=on_exit)
        self.container = container

    def _stream(self):
        pending = b""
        for chunk in self.container.logs(stream=True, follow=True):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", "replace").rstrip("\r")
        if pending:
            yield pending.decode("utf-8", "replace")

    def _exit_status(self):
        code = self.container.wait(timeout=60)["StatusCode"]
        self.container.reload()
        state = self.container.attrs.get("State", {})
        if state.get("OOMKilled"):
            return code, "was killed: out of memory"
        if code == 137 and not self.stopping:
            return code, "was killed (SIGKILL) from outside"
        if state.get("Error"):
            return code, f"failed: {state['Error']}"
        return code, ""

    def _terminate(self, grace):
        from docker.errors import APIError

        try:
            self.container.stop(timeout=int(grace))
        except APIError:
            pass  # already gone

    def _remove(self):
        from docker.errors import NotFound

        try:
            self.container.remove(force=True)
        except NotFound:
            pass


class DockerBackend(Backend):
    name = "docker"

    def __init__(self, client=None):
        import docker

        self.client = client or docker.from_env(timeout=120)
        self._networks = {}
        self._lock = threading.Lock()

    def base_dir(self, spec):
        return contract.BASE_DIR

    def writable_folder(self, spec, folder, path):
        if not path.startswith(f"{contract.BASE_DIR}/"):  # inside /opt/ml it is part of the tree's own mount
            spec.volumes.append((folder, path))
        return path

    def check_image(self, image):
        from docker.errors import ImageNotFound

        try:
            self.client.images.get(image)
        except ImageNotFound:
            raise LocalModeError(f"image {image} is not on the Docker engine at "
                                 f"{self.client.api.base_url} (local mode never pulls); "
                                 f"{_build_hint(image)}") from None

    def requirements_layer(self, image, requirements_file, on_line=None):
        """A framework image with ``requirements_file`` installed (an image built once and reused,
        :mod:`framework_sdk.local.requirement_images`); ``None`` for a bring-your-own image."""
        if not requirement_images.is_framework_image(self.client.images.get(image)):
            return None
        tag = requirement_images.ensure(self.client, image, requirements_file, on_line)
        return tag, {contract.REQUIREMENTS_INSTALLED_ENV: "1"}

    def serving_address(self):
        url = os.environ.get("DOCKER_HOST", "")
        if url.startswith(("tcp://", "ssh://")):
            return urlparse(url).hostname or "127.0.0.1"
        return "127.0.0.1"

    def _network(self, group):
        with self._lock:
            if group not in self._networks:
                self._networks[group] = self.client.networks.create(
                    f"{group}-net", driver="bridge", labels={LABEL: group, cleanup.OWNER_LABEL: cleanup.identity()})
            return self._networks[group]

    def start(self, group, image, specs, *, gpu=False, on_line=None, on_exit=None):
        from docker.types import DeviceRequest, Mount

        network = self._network(group) if len(specs) > 1 else None
        hosts = []
        try:
            for spec in specs:
                mounts = [Mount(contract.BASE_DIR, str(spec.root), type="bind")]
                mounts += [Mount(f"{contract.BASE_DIR}/{relative}", str(path), type="bind", read_only=True)
                           for path, relative in spec.links]
                mounts += [Mount(path, str(folder), type="bind") for folder, path in spec.volumes]
                options = dict(
                    image=image, command=spec.arguments if spec.arguments is not None else [spec.role],
                    name=f"{group}-{spec.name}", hostname=spec.name,
                    environment=spec.environment, mounts=mounts, detach=True,
                    labels={LABEL: group, cleanup.OWNER_LABEL: cleanup.identity()},
                    init=True,  # a real PID 1 forwards SIGTERM, so stopping is quick
                )
                if spec.entrypoint is not None:
                    options["entrypoint"] = spec.entrypoint
                if network is not None:
                    endpoint = self.client.api.create_endpoint_config(aliases=[spec.name])
                    options.update(network=network.name, networking_config={network.name: endpoint})
                if spec.port:
                    bind = "0.0.0.0" if self.serving_address() != "127.0.0.1" else "127.0.0.1"
                    options["ports"] = {f"{CONTAINER_PORT}/tcp": (bind, spec.port)}
                if gpu:
                    options["device_requests"] = [DeviceRequest(count=-1, capabilities=[["gpu"]])]
                container = self.client.containers.create(**options)
                host = DockerHost(spec, container, on_line, on_exit)
                hosts.append(host)
                self._start(container, spec, gpu)
                host.watch()
        except BaseException:
            for host in hosts:
                host.remove()
            self.release(group)
            raise
        return hosts

    @staticmethod
    def _start(container, spec, gpu=False):
        from docker.errors import APIError

        try:
            container.start()
        except APIError as error:
            text = str(error.explanation or error)
            if spec.port and ("port is already allocated" in text or "address already in use" in text):
                raise PortInUse(spec.port, text) from None
            if gpu and ("device driver" in text or "gpu" in text.lower()):
                raise LocalModeError(
                    f"{spec.name}: instance_type='local_gpu' asks the Docker engine for GPUs, and it has none to "
                    f"give ({text}): install the NVIDIA Container Toolkit and restart the engine, or use "
                    f"instance_type='local'") from None
            raise LocalModeError(f"{spec.name}: the container did not start: {text}") from None

    def hand_back(self, image, root):
        """Give the caller ownership of ``root`` (written by a root container); a no-op for root callers."""
        from docker.types import Mount

        if os.geteuid() == 0:
            return
        self.client.containers.run(
            image, entrypoint=["chown", "-R", f"{os.geteuid()}:{os.getegid()}", contract.BASE_DIR], user="0",
            mounts=[Mount(contract.BASE_DIR, str(root), type="bind")], remove=True, labels={LABEL: "hand-back"})

    def release(self, group):
        from docker.errors import NotFound

        with self._lock:
            network = self._networks.pop(group, None)
        if network is not None:
            try:
                network.remove()
            except NotFound:
                pass

    def leftovers(self):
        found = [c.name for c in self.client.containers.list(all=True, filters={"label": LABEL})]
        return found + [n.name for n in self.client.networks.list(filters={"label": LABEL})]
