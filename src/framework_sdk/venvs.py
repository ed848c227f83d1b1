"""The process backend's "images": cached virtual environments, and users' requirements on top.

``framework_python(framework, version)`` returns the python of two cached parts:

- the *environment* (heavy, built once): the same pip steps as the framework's Docker image
  (the image definition's ``image.toml``) plus the toolkit's dependencies, in
  ``~/.cache/framework-sdk/venvs/<framework>-<version>-<key>``. The key is what goes into it
  (the steps and their files, the toolkit's dependencies, Python, platform, and whether the
  MPI step ran), never a path, so two clones or installs of the same version share it;
- the *toolkit layer* (cheap) on top, ``toolkit-<hash>`` inside it: a venv without pip whose
  site-packages holds the installed framework-sdk package (:class:`framework_sdk.images.Toolkit`)
  and a ``.pth`` that appends the environment's site-packages (:func:`layered_venv`), keyed by
  the hash of the toolkit's files. Editing a checkout makes a new layer in a moment; the
  environment stays.

A file lock keeps two jobs from building the same thing at once; :func:`prune` deletes what
no job used for weeks.

``user_layer(python, requirements_file)`` installs a job's ``requirements.txt`` once into a
cached layer keyed by (environment, hash of the requirements) and returns the layer's python:
a virtual environment whose ``sys.path`` is the standard library, then the layer's
site-packages, then every site directory of the environment, in its order, as in an image
after ``pip install -r`` (never ``PYTHONPATH``, which Python searches before the standard
library, so a requirement shipping ``typing.py`` would replace the real one). A requirement
the environment already satisfies is not installed again (as ``pip install -r`` in the image
would leave it), so a layer never shadows, say, the image's numpy with another one.

``folder_python(image)`` builds, once, the environment of a bring-your-own image folder
(:mod:`framework_sdk.local.image_folders`): only its own pip steps, no toolkit, cached as
``venvs/image-<folder>-<hash>`` and removed by :func:`prune` once the folder is gone.
"""
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from framework_sdk import images
from framework_sdk.exceptions import SDKError

log = logging.getLogger(__name__)

CACHE_ENV = "FRAMEWORK_SDK_CACHE_DIR"
LOCK_TIMEOUT = 3600  # seconds to wait for another process building the same environment
PIP_TIMEOUT = 3600  # seconds one pip step may take (mpi4py compiles for minutes)
COMPLETE = ".complete"
LAST_USED = ".last-used"
TOOLKIT_LAYER = "toolkit-"
LAYER_PTH = "framework-sdk-environment.pth"
ENVIRONMENT_DAYS = 30  # an environment no job used for this long is deleted (rebuilt when needed again)
TOOLKIT_LAYER_DAYS = 7  # the same for a toolkit layer (an old checkout's code; rebuilt in a moment)


class BuildError(SDKError, RuntimeError):
    """An environment could not be built; the message names the failing step and shows its output."""


def cache_dir():
    """``$FRAMEWORK_SDK_CACHE_DIR``, else ``$XDG_CACHE_HOME/framework-sdk``, else ``~/.cache/framework-sdk``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "framework-sdk"


def python_in(environment):
    """The python executable of the virtual environment ``environment``."""
    environment = Path(environment)
    return environment / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def environment_key(spec, with_mpi, toolkit_requirements=None):
    """Hash of what an environment is made from: pip steps and their files, toolkit dependencies, Python, MPI.

    ``toolkit_requirements`` defaults to the installed toolkit's. No path and no toolkit code
    goes in: the toolkit is a layer on top (:func:`framework_python`).
    """
    if toolkit_requirements is None:
        toolkit_requirements = images.toolkit_requirements()
    parts = [
        json.dumps([[step.requirements, list(step.args), step.needs] for step in spec.pip_steps]),
        *(path.read_text() for path in spec.requirement_files()),
        toolkit_requirements,
        f"{sys.implementation.name}{sys.version_info[0]}.{sys.version_info[1]}",
        f"{sys.platform}-{platform.machine()}",
        f"mpi={with_mpi}",
    ]
    return _digest(parts)


def mpi_status(spec):
    """``(with_mpi, why)``: whether the pip steps that need a program (Open MPI's ``mpicc``) run here, and why.

    ``why`` is empty for an image with no such step.
    """
    found = {step.needs: shutil.which(step.needs) for step in spec.pip_steps if step.needs}
    missing = [name for name, path in found.items() if not path]
    if not found:
        return True, ""
    if missing:
        return False, f"without MPI: no {', '.join(missing)} on PATH"
    return True, "with MPI: " + ", ".join(f"{name} found at {path}" for name, path in found.items())


def framework_python(framework, version):
    """The python of the cached environment for ``framework`` ``version`` with this toolkit, built on first use."""
    spec = images.find_spec(framework, version)
    toolkit = images.Toolkit.installed()
    with_mpi, why = mpi_status(spec)
    key = environment_key(spec, with_mpi, toolkit.requirements_text())
    root = cache_dir() / "venvs" / f"{framework}-{version}-{key}"
    built = _build_once(root, lambda: _build_environment(spec, root),
                        f"the {framework} {version} environment{f' ({why})' if why else ''}",
                        {"framework": framework, "version": version, "mpi": with_mpi})
    packages = [toolkit]
    registering = images.Toolkit.registering(framework)  # an out-of-tree framework's own package
    if registering is not None:
        packages.append(registering)
    digest = _digest([package.digest() for package in packages]) if registering else toolkit.digest()[:16]
    layer = root / f"{TOOLKIT_LAYER}{digest}"
    built = _build_once(layer, lambda: _build_toolkit_layer(python_in(root), packages, layer),
                        f"the framework-sdk {toolkit.version} toolkit layer"
                        + "".join(f" with {package.name} {package.version}" for package in packages[1:]),
                        {"toolkit": toolkit.version, "package_dir": str(toolkit.package_dir),
                         "packages": {package.name: str(package.package_dir) for package in packages}}) or built
    log.info("using the %s %s environment %s%s with the framework-sdk %s toolkit layer %s", framework, version,
             key, f" ({why})" if why else "", toolkit.version, layer.name[len(TOOLKIT_LAYER):])
    _mark_used(root)
    _mark_used(layer)
    if built:
        prune()
    return python_in(layer)


def layered_venv(base_python, venv_dir, log_root):
    """Make ``venv_dir`` a venv without pip on top of ``base_python``'s environment; its python.

    A ``.pth`` in its site-packages appends the environment's site-packages (and, through their
    own ``.pth`` files, whatever those append), so what the layer holds comes first and the
    environment's packages, pip included, after. Steps log to ``log_root/build.log``.
    """
    _run([str(base_python), "-m", "venv", "--without-pip", str(venv_dir)], log_root, "create the layer")
    paths = _run([str(base_python), "-c", "import site; print('\\n'.join(site.getsitepackages()))"],
                 log_root, "read the environment's site-packages").splitlines()
    python = python_in(venv_dir)
    (_site_packages(python) / LAYER_PTH).write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in paths))
    return python


def _build_toolkit_layer(base_python, packages, layer):
    """The package files and a ``.dist-info`` of each of ``packages`` (the toolkit, then the framework's own
    distribution when another one registers it) in a layer on top of the environment of ``base_python``."""
    layer.mkdir(parents=True)
    site_packages = _site_packages(layered_venv(base_python, layer, layer))
    for package in packages:
        for name, path in package.files():
            target = site_packages / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        for name, text in package.dist_info():
            target = site_packages / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    # sagemaker_training / sagemaker_containers for scripts written for SageMaker's toolkits, after
    # site-packages (the real ones win when a job installs them); see framework_sdk.container.compat
    compat = site_packages / "framework_sdk" / "container" / "compat_packages"
    (site_packages / "sagemaker-compat.pth").write_text(f"{compat}\n")


def _build_once(root, build, what, marker):
    """Run ``build()`` to make ``root`` unless it is complete (another process may be building it); True if built."""
    if (root / COMPLETE).is_file():
        return False
    with _lock(root):
        if (root / COMPLETE).is_file():  # another process built it while we waited
            return False
        if root.exists():
            log.info("removing %s: an earlier build of it did not finish", root)
            shutil.rmtree(root)
        started = time.monotonic()
        log.info("building %s in %s (once; later jobs reuse it)", what, root)
        build()
        seconds = time.monotonic() - started
        (root / COMPLETE).write_text(json.dumps({**marker, "seconds": round(seconds, 1)}))
        log.info("built %s in %.0f s", what, seconds)
    return True


def _mark_used(root):
    """Record that a job uses ``root`` now (:func:`prune` deletes what no job used for long)."""
    try:
        (root / LAST_USED).touch()
    except OSError as error:  # a read-only cache still runs jobs
        log.debug("cannot mark %s as used: %s", root, error)


def _last_used(root):
    for name in (LAST_USED, COMPLETE):
        try:
            return (root / name).stat().st_mtime
        except OSError:
            continue
    return 0.0


def _digest(parts):
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def folder_key(image, interpreter):
    """Hash of what a bring-your-own image folder's environment is made from: folder, pip steps, files, Python."""
    digest = hashlib.sha256()
    probe = "import sys, platform; print(sys.version, platform.machine())"
    if str(interpreter) == sys.executable:
        version = f"{sys.version} {platform.machine()}\n"
    else:
        version = subprocess.run([str(interpreter), "-c", probe], capture_output=True, text=True, check=True,
                                 timeout=60).stdout
    parts = [str(Path(image.folder).resolve()),
             json.dumps([[step.requirements, list(step.args), step.needs] for step in image.pip_steps]),
             *((image.folder / step.requirements).read_text() for step in image.pip_steps),
             str(Path(interpreter).resolve()), version, sys.platform]
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def folder_python(image, interpreter=None):
    """The python of the cached environment of a bring-your-own image folder, built on first use.

    ``image`` has ``name``, ``folder`` and ``pip_steps`` (:class:`framework_sdk.images.PipStep`),
    as :class:`framework_sdk.local.image_folders.ImageFolder` does. The environment holds only
    what those steps install (the image needs nothing of framework-sdk); ``interpreter``
    (default: this Python) creates it.
    """
    interpreter = interpreter or sys.executable
    root = cache_dir() / "venvs" / f"image-{image.name}-{folder_key(image, interpreter)}"
    built = _build_once(root, lambda: _build_environment(image, root, toolkit_dependencies=False,
                                                         interpreter=interpreter),
                        f"the environment of image folder {image.folder}",
                        {"image_folder": str(Path(image.folder).resolve())})
    _mark_used(root)
    if built:
        prune()
    return python_in(root)


def prune(now=None):
    """Delete what no job will use again, with the users' requirement layers on top of it; the paths deleted.

    That is: environments no job used for ENVIRONMENT_DAYS, toolkit layers no job used for
    TOOLKIT_LAYER_DAYS (both are rebuilt if a job needs them again), environments of image
    folders (or, made by earlier versions, of source trees) that no longer exist, and
    requirement layers whose environment is gone.
    """
    now = time.time() if now is None else now
    removed = []
    for marker in cache_dir().glob(f"venvs/*/{COMPLETE}"):
        root, data = marker.parent, _read_json(marker)
        source = data.get("image_folder") or data.get("toolkit_source")
        if (source and not Path(source).is_dir()) or _last_used(root) < now - ENVIRONMENT_DAYS * 86400:
            removed.append(root)
            continue
        removed += [layer.parent for layer in root.glob(f"{TOOLKIT_LAYER}*/{COMPLETE}")
                    if _last_used(layer.parent) < now - TOOLKIT_LAYER_DAYS * 86400]
    for marker in cache_dir().glob(f"layers/*/{COMPLETE}"):
        python = Path(_read_json(marker).get("python", ""))
        if any(folder in python.parents for folder in removed) or not python.parent.is_dir():
            removed.append(marker.parent)
    for folder in removed:
        log.info("removing %s: no job used it for long, or what it was built for is gone", folder)
        shutil.rmtree(folder, ignore_errors=True)
        Path(f"{folder}.lock").unlink(missing_ok=True)
    return removed


def _read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _build_environment(spec, root, toolkit_dependencies=True, interpreter=None):
    root.mkdir(parents=True)
    _run([interpreter or sys.executable, "-m", "venv", str(root)], root, "create the virtual environment")
    python = python_in(root)
    for step in spec.pip_steps:
        if step.needs and not shutil.which(step.needs):
            log.warning("no %s on this machine: not installing %s for %s; MPI (distributed) training in "
                        "this environment needs Open MPI (e.g. apt-get install openmpi-bin libopenmpi-dev)",
                        step.needs, step.requirements, spec.name)
            continue
        _run([str(python), "-m", "pip", *step.command(spec.folder)], root, f"install {step.requirements}")
    if toolkit_dependencies:  # the toolkit itself goes into a layer on top (_build_toolkit_layer)
        requirements = root / "toolkit-requirements.txt"
        requirements.write_text(images.toolkit_requirements())
        _run([str(python), "-m", "pip", "install", "-r", str(requirements)], root,
             "install the toolkit's dependencies")


LAYER_LAYOUT = "venv-after-stdlib-2"  # part of a layer's key: a layer of another layout is never reused


def user_layer(python, requirements_file):
    """Install ``requirements_file`` once on top of the environment of ``python``; the layer's python.

    The job runs that python instead of ``python``: it sees the standard library first, then
    what the layer installed, then everything ``python`` sees. A second call with the same
    environment and the same requirements installs nothing.
    """
    python, requirements_file = Path(python).absolute(), Path(requirements_file)
    content = requirements_file.read_bytes()
    key = hashlib.sha256(f"{LAYER_LAYOUT}\0{python}\0".encode() + content).hexdigest()[:16]
    root = cache_dir() / "layers" / key
    overlay = root / "venv"
    if not (root / COMPLETE).is_file():
        with _lock(root):
            if not (root / COMPLETE).is_file():
                if root.exists():
                    shutil.rmtree(root)
                root.mkdir(parents=True)
                log.info("installing %s into a cached layer %s (once for these requirements)",
                         requirements_file, root)
                _build_layer(python, requirements_file, overlay, root)
                (root / COMPLETE).write_text(json.dumps({"python": str(python), "requirements": str(requirements_file)}))
    else:
        log.info("requirements in %s already installed (cached layer %s)", requirements_file, root)
    return python_in(overlay)


# The lower interpreter's sys.path with (-I) and without (-I -S) its site directories: what the
# first has beyond the second are its site directories, in order (its own site-packages, those
# its .pth files add, those of a lower environment when it is itself a layer).
_SYS_PATH = "import json, sys; print(json.dumps(sys.path))"


def site_directories(python):
    """Every ``sys.path`` entry of ``python`` after the standard library, in its order (no PYTHONPATH, no user site)."""
    with_site = json.loads(_probe([str(python), "-I", "-c", _SYS_PATH]))
    standard = set(json.loads(_probe([str(python), "-I", "-S", "-c", _SYS_PATH])))
    return [entry for entry in with_site if entry not in standard]


def _probe(command):
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout


def _build_layer(python, requirements_file, overlay, root):
    # An overlay venv whose .pth appends the environment's site directories after its own:
    # pip, run for the overlay's interpreter, sees what the environment already has, leaves
    # it alone, and puts only what is missing (or a version the user pinned) into the overlay.
    # site.addsitedir also runs the .pth files of each directory (editable installs' finders).
    _run([str(python), "-m", "venv", "--without-pip", str(overlay)], root, "create the layer")
    (_site_packages(python_in(overlay)) / LAYER_PTH).write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in site_directories(python)))
    _run([str(python), "-m", "pip", "--python", str(python_in(overlay)), "install", "-r", str(requirements_file.name)],
         root, f"install {requirements_file}", cwd=requirements_file.parent)


def _site_packages(python):
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True, timeout=60)
    return Path(out.stdout.strip())


def _run(command, root, what, cwd=None):
    """Run one build step, its output appended to ``root/build.log``; errors show the tail."""
    log_path = root / "build.log"
    with open(log_path, "a") as log_file:
        log_file.write(f"$ {' '.join(command)}\n")
        log_file.flush()
        try:
            result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    timeout=PIP_TIMEOUT, cwd=cwd)
        except subprocess.TimeoutExpired as error:
            raise BuildError(f"could not {what}: `{' '.join(command)}` took over {PIP_TIMEOUT} s") from error
        log_file.write(result.stdout)
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-25:])
        raise BuildError(f"could not {what}: `{' '.join(command)}` exited {result.returncode} "
                         f"(full log: {log_path}); its output ends with:\n{tail}")
    return result.stdout


class _lock:
    """An exclusive file lock beside ``path``, waited for at most LOCK_TIMEOUT seconds."""

    def __init__(self, path):
        self.path = Path(f"{path}.lock")

    def __enter__(self):
        from filelock import FileLock, Timeout

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path))
        try:
            self._lock.acquire(timeout=LOCK_TIMEOUT)
        except Timeout as error:
            raise BuildError(f"another process has held {self.path} for over {LOCK_TIMEOUT} s; "
                             f"if none is building there, delete that file") from error
        return self

    def __exit__(self, *exc):
        self._lock.release()
