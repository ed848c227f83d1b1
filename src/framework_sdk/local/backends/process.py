"""The process backend: each host is a child process running against its own /opt/ml tree.

No Docker needed. What runs depends on the image name:

- a framework image (``framework-sdk-chainer:7.8.1-cpu-py3``) stands for the framework's
  cached virtual environment (:func:`framework_sdk.venvs.framework_python`); each host runs
  ``python -m framework_sdk.container train|serve`` (``python=`` overrides that interpreter);
- a bring-your-own image stands for the folder it is built from
  (:mod:`framework_sdk.local.image_folders`): its ``train`` / ``serve`` program runs with
  that folder's cached environment first on ``PATH`` (:func:`framework_sdk.venvs.folder_python`).

Each host runs in its own process group with ``SAGEMAKER_BASE_DIR`` pointing at its tree
(and ``SAGEMAKER_BIND_TO_PORT`` for ``serve``); ``file://`` channels and code are symbolic
links inside the tree. Hosts share this machine, so a multi-host job's MPI ranks all run
here (``FRAMEWORK_SDK_LOCAL_HOSTS=1``).

A host given its own command (``HostSpec.entrypoint``/``arguments``: a processing job) runs
that instead of ``train``/``serve``, in the same environment.
"""
import dataclasses
import os
import signal
import subprocess

from framework_sdk import contract
from framework_sdk.local import cleanup, image_folders
from framework_sdk.local.backends.base import Backend, Host
from framework_sdk.local.errors import LocalModeError

BASE_DIR = contract.BASE_DIR


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


def hardcoded_base_dir_hint(spec):
    """What to tell the user of a program that looked for files under /opt/ml instead of its tree."""
    port = f" (and its port in {contract.BIND_TO_PORT_ENV}={spec.port})" if spec.port else ""
    paths = (f", or take its paths from its arguments (the process backend moves {BASE_DIR}/... in a job's "
             f"arguments and environment to the host's tree)" if spec.runs_own_command else "")
    return (f"[framework-sdk] this program looked for {BASE_DIR}, but the process backend gives each host "
            f"its own tree in {contract.BASE_DIR_ENV}={spec.root}{port}: make the program read "
            f"{contract.BASE_DIR_ENV} (default {BASE_DIR}){paths}, or run the image with the docker backend (LocalSession(backend='docker'))")


def host_command(runner, spec):
    """What a host runs: the image's program for its role, or the spec's entrypoint and arguments.

    The process backend has no image ENTRYPOINT to fall back on (our framework images have none),
    so ``arguments`` alone are the command, as ``docker run IMAGE ARGUMENTS`` runs them there.
    """
    if not spec.runs_own_command:
        return runner.command(spec.role)
    command = [*(spec.entrypoint or ()), *(spec.arguments or ())]
    if not command:
        raise LocalModeError(f"{spec.name}: nothing to run: the process backend cannot run an image's own "
                             f"ENTRYPOINT; give the command (Processor(entrypoint=[...]) or ContainerEntrypoint)")
    return command


class ProcessHost(Host):
    def __init__(self, spec, process, on_line=None, on_exit=None, check_base_dir=False):
        super().__init__(spec, on_line=on_line, on_exit=on_exit)
        self.process = process
        self.check_base_dir = check_base_dir  # a bring-your-own program: explain a hardcoded /opt/ml
        # The toolkit passes SIGTERM on to the user's process group itself; a bring-your-own program's
        # whole group gets it (a shell script would not pass it on).
        self.term_group = check_base_dir

    def _stream(self):
        mentions_base_dir = False
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            mentions_base_dir = mentions_base_dir or BASE_DIR in line
            yield line
        if self.check_base_dir and mentions_base_dir and not self.stopping and self._failed():
            yield hardcoded_base_dir_hint(self.spec)

    def _failed(self):
        try:
            return self.process.wait(timeout=10) != 0
        except subprocess.TimeoutExpired:  # closed its output but runs on: not for us to judge here
            return False

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
        if self.term_group:
            self._signal_group(signal.SIGTERM)
        elif self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        # The whole session goes, so no worker or MPI rank outlives its host.
        cleanup.kill_session(self.process.pid)

    def _remove(self):
        cleanup.kill_session(self.process.pid)
        cleanup.forget("processes", self.session)


@dataclasses.dataclass(frozen=True)
class Toolkit:
    """A framework image: the toolkit in the framework's environment."""

    python: str
    framework: "str | None" = None

    def command(self, role):
        return [self.python, "-m", "framework_sdk.container", role]

    def environment(self, spec):
        # what the framework image sets with ENV: its serving and training defaults, and its environment
        # first on PATH (a processing job's `python3 script.py` runs the framework's python)
        environment = {"PATH": os.pathsep.join([os.path.dirname(self.python), os.environ.get("PATH", os.defpath)])}
        if self.framework:
            environment[contract.FRAMEWORK_ENV] = self.framework
        if spec.port:  # on loopback only, as the docker backend publishes ports
            environment[contract.BIND_HOST_ENV] = "127.0.0.1"
        return environment

    def cwd(self, spec):
        return str(spec.root)


@dataclasses.dataclass(frozen=True)
class FolderImage:
    """A bring-your-own image: its folder's programs in the folder's environment."""

    image: image_folders.ImageFolder
    python: str

    def command(self, role):
        return self.image.command(role)

    def environment(self, spec):
        venv_bin = os.path.dirname(self.python)
        programs = list(dict.fromkeys(str(path.parent) for path in self.image.programs.values()))
        return {**self.image.environment,
                "PATH": os.pathsep.join([venv_bin, *programs, os.environ.get("PATH", os.defpath)]),
                "VIRTUAL_ENV": os.path.dirname(venv_bin),
                "PYTHONDONTWRITEBYTECODE": "1"}  # leave no __pycache__ in the user's folder

    def cwd(self, spec):
        return str(self.image.workdir or spec.root)


class ProcessBackend(Backend):
    name = "process"

    def __init__(self, python=None, image_folders=()):
        self._python = python  # an interpreter that overrides the framework venvs (tests, power users)
        self.image_folders = list(image_folders)
        self._resolved = {}

    def base_dir(self, spec):
        return str(spec.root)

    def writable_folder(self, spec, folder, path):
        return str(folder)  # the host's tree stands for /opt/ml; a path elsewhere is mapped into it too

    def resolve(self, image):
        """What runs ``image`` here (:class:`Toolkit` or :class:`FolderImage`), built on first use."""
        if image not in self._resolved:
            folder = image_folders.resolve(image, self.image_folders)
            if folder is not None:
                from framework_sdk import venvs

                self._resolved[image] = FolderImage(folder, str(venvs.folder_python(folder, folder.interpreter())))
            else:
                parsed = parse_framework_image(image)
                if self._python:
                    self._resolved[image] = Toolkit(self._python, parsed[0] if parsed else None)
                elif parsed is None:
                    raise LocalModeError(self._unresolved_message(image))
                else:
                    from framework_sdk import venvs

                    self._resolved[image] = Toolkit(str(venvs.framework_python(*parsed)), parsed[0])
        return self._resolved[image]

    def _unresolved_message(self, image):
        tags = image_folders.registered_tags(self.image_folders)
        known = (f" (the registered image folders answer to: {', '.join(sorted(tags))})" if tags
                 else " (no image folders are registered)")
        return (f"the process backend cannot run image {image!r}: it is no framework-sdk framework image "
                f"(framework-sdk-<framework>:<version>-...), and no image folder stands for it{known}. "
                f"Either run it with the docker backend (LocalSession(backend='docker') or "
                f"FRAMEWORK_SDK_LOCAL_BACKEND=docker), or give the process backend the folder it is built "
                f"from: name the folder as the image ('file:///path/to/folder'), or register it with "
                f"LocalSession(image_folders=['/path/to/folder']) (or \"image_folders\" in the \"local\" section "
                f"of ~/.config/framework-sdk/config.json) with tag = {image_folders.normalize(image)!r} in its "
                f"image.toml. The folder's train and serve must read SAGEMAKER_BASE_DIR and "
                f"SAGEMAKER_BIND_TO_PORT (see doc/bring-your-own.md)")

    def python_for(self, image):
        """The interpreter standing in for ``image``."""
        return self.resolve(image).python

    def check_image(self, image):
        """Refuse at once an image nothing here stands for; its environment is built later, in the job."""
        if image in self._resolved or self._python or parse_framework_image(image) is not None:
            return
        if image_folders.resolve(image, self.image_folders) is None:
            raise LocalModeError(self._unresolved_message(image))

    def requirements_layer(self, image, requirements_file, on_line=None):
        """``image`` run by the python of a cached layer holding ``requirements_file`` on top of its environment.

        Like the docker backend's derived image, the returned name stands for the layer: its python
        runs the toolkit (and so every MPI rank and model-server worker), with the standard library
        before the requirements, as in an image.
        """
        from framework_sdk import venvs

        runner = self.resolve(image)
        layer = str(venvs.user_layer(runner.python, str(requirements_file)))
        layered = f"{image} (with the requirements layer {layer})"
        self._resolved[layered] = dataclasses.replace(runner, python=layer)
        return layered, {contract.REQUIREMENTS_INSTALLED_ENV: "1"}

    def start(self, group, image, specs, *, gpu=False, on_line=None, on_exit=None):
        runner = self.resolve(image)
        hosts = []
        try:
            for spec in specs:
                command = host_command(runner, spec)
                for path, relative in spec.links:
                    link = spec.root / relative
                    link.parent.mkdir(parents=True, exist_ok=True)
                    if link.is_dir() and not link.is_symlink():
                        link.rmdir()
                    link.symlink_to(path)
                env = dict(os.environ)
                env.update(runner.environment(spec))
                env.update(spec.environment)
                env.update({contract.BASE_DIR_ENV: str(spec.root), "PYTHONUNBUFFERED": "1",
                            contract.LOCAL_HOSTS_ENV: "1"})
                if spec.port:
                    env[contract.BIND_TO_PORT_ENV] = str(spec.port)
                process = subprocess.Popen(
                    command, cwd=runner.cwd(spec), env=env,
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    start_new_session=True)
                host = ProcessHost(spec, process, on_line, on_exit,
                                   check_base_dir=isinstance(runner, FolderImage) or spec.runs_own_command)
                host.session = [process.pid, cleanup.start_time(process.pid)]
                cleanup.remember("processes", host.session)  # for the next session, should this Python be killed
                hosts.append(host)
                host.watch()
        except BaseException:
            for host in hosts:
                host.remove()
            raise
        return hosts
