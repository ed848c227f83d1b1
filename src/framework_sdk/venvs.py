"""The process backend's "images": cached virtual environments, and users' requirements on top.

``framework_python(framework, version)`` builds, once, a virtual environment from the same
pip steps (``containers/<name>/image.toml``) as the framework's Docker image, plus the
toolkit, and returns its python. It lives under the user cache
(``~/.cache/framework-sdk/venvs/<framework>-<version>-<hash>``), keyed by the hash of
everything that goes into it, and a file lock keeps two jobs from building it at once.

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

from framework_sdk import __version__, images

log = logging.getLogger(__name__)

CACHE_ENV = "FRAMEWORK_SDK_CACHE_DIR"
LOCK_TIMEOUT = 3600  # seconds to wait for another process building the same environment
PIP_TIMEOUT = 3600  # seconds one pip step may take (mpi4py compiles for minutes)
COMPLETE = ".complete"
TOOLKIT_PTH = "framework-sdk-toolkit.pth"
LAYER_PTH = "framework-sdk-environment.pth"


class BuildError(RuntimeError):
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


def toolkit_source():
    """The ``src`` folder holding this toolkit when it runs from a source tree, else None."""
    src = Path(images.__file__).resolve().parents[1]
    return src if src.name == "src" and (src.parent / "pyproject.toml").is_file() else None


def environment_key(spec, with_mpi):
    """Hash of everything an environment is made from: pip steps, their files, toolkit, Python."""
    digest = hashlib.sha256()
    parts = [
        json.dumps([[step.requirements, list(step.args), step.needs] for step in spec.pip_steps]),
        *(path.read_text() for path in spec.requirement_files()),
        images.toolkit_requirements(),
        __version__,
        str(toolkit_source() or ""),
        f"{sys.implementation.name}{sys.version_info[0]}.{sys.version_info[1]}",
        f"{sys.platform}-{platform.machine()}",
        f"mpi={with_mpi}",
    ]
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def framework_python(framework, version):
    """The python of the cached environment for ``framework`` ``version``, built on first use."""
    spec = images.find_spec(framework, version)
    with_mpi = all(shutil.which(step.needs) for step in spec.pip_steps if step.needs)
    root = cache_dir() / "venvs" / f"{framework}-{version}-{environment_key(spec, with_mpi)}"
    python = python_in(root)
    if (root / COMPLETE).is_file():
        return python
    with _lock(root):
        if (root / COMPLETE).is_file():  # another process built it while we waited
            return python
        if root.exists():
            log.info("removing %s: an earlier build of it did not finish", root)
            shutil.rmtree(root)
        started = time.monotonic()
        log.info("building the %s %s environment in %s (once; later jobs reuse it)", framework, version, root)
        _build_environment(spec, root)
        source = toolkit_source()
        (root / COMPLETE).write_text(json.dumps({"framework": framework, "version": version,
                                                 "toolkit_source": str(source) if source else None,
                                                 "seconds": round(time.monotonic() - started, 1)}))
        log.info("built the %s %s environment in %.0f s", framework, version, time.monotonic() - started)
    prune()
    return python


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
    python = python_in(root)
    if (root / COMPLETE).is_file():
        return python
    with _lock(root):
        if (root / COMPLETE).is_file():
            return python
        if root.exists():
            log.info("removing %s: an earlier build of it did not finish", root)
            shutil.rmtree(root)
        started = time.monotonic()
        log.info("building the environment of image folder %s in %s (once; later runs reuse it)",
                 image.folder, root)
        _build_environment(image, root, toolkit=False, interpreter=interpreter)
        (root / COMPLETE).write_text(json.dumps({"image_folder": str(Path(image.folder).resolve()),
                                                 "seconds": round(time.monotonic() - started, 1)}))
        log.info("built the environment of %s in %.0f s", image.folder, time.monotonic() - started)
    prune()
    return python


def prune():
    """Delete environments whose toolkit source tree or image folder is gone, and their layers."""
    removed = []
    for marker in cache_dir().glob(f"venvs/*/{COMPLETE}"):
        data = _read_json(marker)
        source = data.get("toolkit_source") or data.get("image_folder")
        if source and not Path(source).is_dir():
            removed.append(marker.parent)
    for marker in cache_dir().glob(f"layers/*/{COMPLETE}"):
        python = Path(_read_json(marker).get("python", ""))
        if any(folder in python.parents for folder in removed) or not python.parent.is_dir():
            removed.append(marker.parent)
    for folder in removed:
        log.info("removing %s: the source tree it was built for is gone", folder)
        shutil.rmtree(folder, ignore_errors=True)
        Path(f"{folder}.lock").unlink(missing_ok=True)
    return removed


def _read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _build_environment(spec, root, toolkit=True, interpreter=None):
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
    if not toolkit:
        return
    toolkit_requirements = root / "toolkit-requirements.txt"
    toolkit_requirements.write_text(images.toolkit_requirements())
    _run([str(python), "-m", "pip", "install", "-r", str(toolkit_requirements)], root,
         "install the toolkit's dependencies")
    source = toolkit_source()
    if source:  # run the toolkit from this source tree, as an editable install does
        (_site_packages(python) / TOOLKIT_PTH).write_text(f"{source}\n")
    else:
        _run([str(python), "-m", "pip", "install", "--no-deps", f"framework-sdk=={__version__}"], root,
             "install the toolkit")


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
