"""The process backend: each host is a child process running the toolkit against its own /opt/ml tree.

No Docker needed. A framework image name (``framework-sdk-chainer:7.8.1-cpu-py3``)
stands for the framework's cached virtual environment
(:func:`framework_sdk.venvs.framework_python`); a bring-your-own image cannot run
here. Each host runs ``python -m framework_sdk.container train|serve`` in its own
process group, with ``SAGEMAKER_BASE_DIR`` pointing at its tree; ``file://``
channels and code are symbolic links inside the tree. Hosts share this machine, so
a multi-host job's MPI ranks all run here (``FRAMEWORK_SDK_LOCAL_HOSTS=1``).
"""
import os
import signal
import subprocess

from framework_sdk.local.backends.base import Backend, Host
from framework_sdk.local.errors import LocalModeError


def parse_framework_image(image):
    """``'…/framework-sdk-chainer:7.8.1-cpu-py3'`` -> ``('chainer', '7.8.1')``; ``None`` for other images."""
    repository, _, tag = image.rpartition("/")[2].partition(":")
    if not repository.startswith("framework-sdk-") or not tag:
        return None
    framework = repository[len("framework-sdk-"):]
    version = tag.split("-")[0]
    from framework_sdk import image_uris

    if version not in image_uris.FRAMEWORKS.get(framework, {}):
        return None
    return framework, version


class ProcessHost(Host):
    def __init__(self, spec, process, on_line=None, on_exit=None):
        super().__init__(spec, on_line, on_exit)
        self.process = process

    def _stream(self):
        for raw in self.process.stdout:
            yield raw.decode("utf-8", "replace").rstrip("\r\n")

    def _exit_status(self):
        self.process.stdout.close()
        code = self.process.wait(timeout=60)
        if code < 0 and not self.stopping:
            return code, f"was killed by {signal.Signals(-code).name} from outside"
        return code, ""

    def _signal_group(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _terminate(self, grace):
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        # The whole group goes, so no worker or MPI rank outlives its host.
        self._signal_group(signal.SIGKILL)

    def _remove(self):
        self._signal_group(signal.SIGKILL)


class ProcessBackend(Backend):
    name = "process"

    def __init__(self, python=None):
        self._python = python  # an interpreter that overrides the framework venvs (tests, power users)
        self._resolved = {}

    def base_dir(self, spec):
        return str(spec.root)

    def python_for(self, image):
        """The interpreter standing in for ``image``."""
        if self._python:
            return self._python
        if image not in self._resolved:
            parsed = parse_framework_image(image)
            if parsed is None:
                raise LocalModeError(
                    f"the process backend cannot run image {image!r}: it only runs framework-sdk framework "
                    f"images (framework-sdk-<framework>:<version>-...), whose Python environment it builds "
                    f"itself. Run this bring-your-own image with the docker backend "
                    f"(LocalSession(backend='docker') or FRAMEWORK_SDK_LOCAL_BACKEND=docker)")
            from framework_sdk import venvs

            self._resolved[image] = str(venvs.framework_python(*parsed))
        return self._resolved[image]

    def check_image(self, image):
        self.python_for(image)

    def user_layer(self, image, requirements_file):
        """Environment additions that put ``requirements_file`` (installed once, cached) on the path."""
        from framework_sdk import venvs

        return venvs.user_layer(self.python_for(image), str(requirements_file))

    def start(self, group, image, specs, *, gpu=False, on_line=None, on_exit=None):
        python = self.python_for(image)
        hosts = []
        try:
            for spec in specs:
                for path, relative in spec.links:
                    link = spec.root / relative
                    link.parent.mkdir(parents=True, exist_ok=True)
                    if link.is_dir() and not link.is_symlink():
                        link.rmdir()
                    link.symlink_to(path)
                env = dict(os.environ)
                framework = parse_framework_image(image)
                if framework:  # what the framework image sets with ENV: its serving and training defaults
                    env["FRAMEWORK_SDK_FRAMEWORK"] = framework[0]
                env.update(spec.environment)
                env.update(SAGEMAKER_BASE_DIR=str(spec.root), PYTHONUNBUFFERED="1",
                           FRAMEWORK_SDK_LOCAL_HOSTS="1")
                if spec.port:  # on loopback only, as the docker backend publishes ports
                    env.update(SAGEMAKER_BIND_TO_PORT=str(spec.port), FRAMEWORK_SDK_BIND_HOST="127.0.0.1")
                process = subprocess.Popen(
                    [python, "-m", "framework_sdk.container", spec.role], cwd=str(spec.root), env=env,
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    start_new_session=True)
                host = ProcessHost(spec, process, on_line, on_exit)
                hosts.append(host)
                host.watch()
        except BaseException:
            for host in hosts:
                host.remove()
            raise
        return hosts
