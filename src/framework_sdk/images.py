"""Build the framework images under ``containers/`` and the Debian base they start from.

Each folder under ``containers/`` with a ``Dockerfile`` and an ``image.toml`` is one image.
``image.toml`` names its framework, version, Python version and processor (so the image is
tagged as :func:`framework_sdk.image_uris.retrieve` resolves it, and labelled) and lists the
pip steps that both the image and the process backend's environment
(:mod:`framework_sdk.venvs`) run.

``build()`` sends the engine a deterministic build context (fixed mtimes, owners and order)
holding the image folder, the toolkit (this project's ``pyproject.toml`` and ``src/``) and
the CA bundle named by ``PIP_CERT``, ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE``, so
unchanged inputs hit the engine's layer cache and a second build takes seconds.

docker is imported only when an engine is used; this module's top level is stdlib only.
"""
import dataclasses
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from framework_sdk import __version__, image_uris

log = logging.getLogger(__name__)

PYTHON_IMAGE = "python:3.11-slim-bookworm"
BASE_REPOSITORY, BASE_TAG = "framework-sdk-base", "bookworm"
BASE_IMAGE = f"{BASE_REPOSITORY}:{BASE_TAG}"
BASE_IMAGE_ENV = "FRAMEWORK_SDK_BASE_IMAGE"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_MIRROR_ENV = "FRAMEWORK_SDK_DEBIAN_MIRROR"
CA_BUNDLE_ENV_VARS = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
CA_BUNDLE_IN_IMAGE = "/usr/local/share/framework-sdk/build-ca.pem"
LABEL_PREFIX = "org.framework-sdk."
CONTEXT_MTIME = 946684800  # 2000-01-01: fixed, and late enough for zip-based wheel builds
BUILD_READ_TIMEOUT = 1800  # seconds a build step may stay silent before we give up on it
HEARTBEAT_SECONDS = 30
PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOOLKIT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "README.md", "LICENSE", "MANIFEST.in")
SKIPPED_NAMES = ("__pycache__", ".pytest_cache", ".DS_Store")
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


class ImageError(RuntimeError):
    """An image cannot be built, found or made; the message says how to fix it."""


@dataclasses.dataclass(frozen=True)
class PipStep:
    """One ``pip install [args] -r requirements`` step of an image."""

    requirements: str
    args: tuple = ()
    needs: str = None  # a program the step needs (a process environment skips it without)

    def command(self, requirements_dir):
        return ["install", *self.args, "-r", f"{requirements_dir}/{self.requirements}"]


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """One image folder under ``containers/``: what it holds and how it is named."""

    name: str
    folder: Path
    framework: str
    version: str
    python: str
    processor: str
    pip_steps: tuple
    fixed_tag: str = None  # image.toml's ``tag``, for an image that is no framework of image_uris

    @property
    def tag(self):
        if self.fixed_tag:
            return self.fixed_tag
        instance_type = "local_gpu" if self.processor == "gpu" else None
        return image_uris.retrieve(self.framework, self.version, instance_type=instance_type)

    @property
    def labels(self):
        return {
            f"{LABEL_PREFIX}framework": self.framework,
            f"{LABEL_PREFIX}framework-version": self.version,
            f"{LABEL_PREFIX}python-version": self.python,
            f"{LABEL_PREFIX}processor": self.processor,
            f"{LABEL_PREFIX}toolkit-version": __version__,
            # the model server honours SAGEMAKER_BIND_TO_PORT (SageMaker's own label for it)
            "com.amazonaws.sagemaker.capabilities.accept-bind-to-port": "true",
        }

    def requirement_files(self):
        return [self.folder / step.requirements for step in self.pip_steps]


@dataclasses.dataclass(frozen=True)
class BuildResult:
    """What ``build()`` made: the tag, image id, size in bytes and how long it took."""

    name: str
    tag: str
    image_id: str
    size: int
    seconds: float
    steps: int
    cached_steps: int

    @property
    def size_mb(self):
        return self.size / 1e6

    def __str__(self):
        return f"{self.tag}  {self.size_mb:,.0f} MB  {self.seconds:.1f} s ({self.cached_steps}/{self.steps} steps cached)"


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """A framework image present in the engine, read from its labels."""

    tag: str
    framework: str
    version: str
    python: str
    processor: str
    size: int
    image_id: str

    @property
    def size_mb(self):
        return self.size / 1e6


# ---------------------------------------------------------------------------- image specs

def containers_dir():
    """The ``containers/`` folder of this project's source tree."""
    folder = PROJECT_ROOT / "containers"
    if not folder.is_dir():
        raise ImageError(
            f"no containers/ folder beside {PROJECT_ROOT / 'src'}: images are built from a "
            f"source checkout of framework-sdk (git clone the project and `pip install -e .` it)")
    return folder


def _read_toml(path):
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    with open(path, "rb") as file:
        return tomllib.load(file)


def load_spec(folder):
    """Read ``folder/image.toml`` into an :class:`ImageSpec`."""
    folder = Path(folder)
    try:
        data = _read_toml(folder / "image.toml")
        steps = tuple(PipStep(step["requirements"], tuple(step.get("args", ())), step.get("needs"))
                      for step in data.get("pip", ()))
        spec = ImageSpec(folder.name, folder, data["framework"], str(data["version"]),
                         str(data["python"]), data.get("processor", "cpu"), steps, data.get("tag"))
    except (OSError, ValueError, KeyError) as error:
        raise ImageError(f"{folder / 'image.toml'} is not a valid image description: {error!r}") from error
    if not spec.fixed_tag:
        try:
            image_uris.validate(spec.framework, spec.version)
        except image_uris.UnsupportedVersionError as error:
            raise ImageError(f"{folder / 'image.toml'}: {error} (add it to image_uris.FRAMEWORKS, "
                             f"or give the image a fixed `tag`)") from error
    missing = [str(path) for path in spec.requirement_files() if not path.is_file()]
    if missing:
        raise ImageError(f"{folder / 'image.toml'} names requirement files that do not exist: {missing}")
    return spec


def image_specs(names=None, folder=None):
    """The image specs under ``folder`` (default: ``containers/``), all or those ``names``d."""
    folder = Path(folder) if folder else containers_dir()
    specs = {path.parent.name: load_spec(path.parent)
             for path in sorted(folder.glob("*/image.toml")) if (path.parent / "Dockerfile").is_file()}
    if not names:
        return list(specs.values())
    unknown = [name for name in names if name not in specs]
    if unknown:
        raise ImageError(f"no image folder named {', '.join(unknown)} under {folder}; "
                         f"available: {', '.join(specs) or 'none'}")
    return [specs[name] for name in names]


def find_spec(framework, version, folder=None):
    """The spec of the image for ``framework`` ``version``; an error lists the ones we have."""
    specs = image_specs(folder=folder)
    for spec in specs:
        if spec.framework == framework and spec.version == str(version):
            return spec
    have = ", ".join(f"{spec.framework} {spec.version}" for spec in specs)
    raise ImageError(f"no image definition for {framework} {version}; available: {have}")


def toolkit_requirements(root=PROJECT_ROOT):
    """The toolkit's runtime dependencies (``[project].dependencies`` of pyproject.toml)."""
    dependencies = _read_toml(Path(root) / "pyproject.toml")["project"].get("dependencies", [])
    return "".join(f"{line}\n" for line in dependencies)


def toolkit_files(root=PROJECT_ROOT):
    """Relative paths of the project files an image installs the toolkit from."""
    root = Path(root)
    files = [Path(name) for name in TOOLKIT_FILES if (root / name).is_file()]
    return files + [path.relative_to(root) for path in _tree_files(root / "src")]


def _tree_files(folder):
    return [path for path in sorted(Path(folder).rglob("*"))
            if path.is_file()
            and not any(part in SKIPPED_NAMES or part.endswith(SKIPPED_SUFFIXES) for part in path.parts)]


# ---------------------------------------------------------------------------- build context

def ca_bundle(environ=None):
    """The CA bundle named by PIP_CERT, REQUESTS_CA_BUNDLE or SSL_CERT_FILE (first set), or None."""
    environ = os.environ if environ is None else environ
    for variable in CA_BUNDLE_ENV_VARS:
        value = environ.get(variable)
        if not value:
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            raise ImageError(f"{variable}={value} names no file; point it at a PEM CA bundle or unset it")
        return path
    return None


def build_context(spec, ca_bundle_path=None, root=PROJECT_ROOT):
    """The build context of ``spec`` as tar bytes, identical for identical inputs.

    Holds the image folder at the top, ``toolkit/`` (the project), ``toolkit/requirements.txt``
    (its dependencies) and ``build-ca.pem`` (the CA bundle, or empty).
    """
    entries = [(str(path.relative_to(spec.folder)), path.read_bytes(), _mode(path))
               for path in _tree_files(spec.folder)]
    entries += [(f"toolkit/{path.as_posix()}", (root / path).read_bytes(), _mode(root / path))
                for path in toolkit_files(root)]
    entries.append(("toolkit/requirements.txt", toolkit_requirements(root).encode(), 0o644))
    entries.append(("build-ca.pem", Path(ca_bundle_path).read_bytes() if ca_bundle_path else b"", 0o644))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, CONTEXT_MTIME
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _mode(path):
    return 0o755 if os.access(path, os.X_OK) else 0o644


# ---------------------------------------------------------------------------- engine

def docker_client(client=None):
    """``client``, or a docker-py client for the engine of ``DOCKER_HOST`` (or the default socket) that answers."""
    if client is not None:
        return client
    try:
        import docker

        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except Exception as error:
        raise ImageError(f"no Docker engine answers ({error}); start one (dockerd), or set DOCKER_HOST "
                         f"to an engine that answers") from error


def _has_image(client, name):
    import docker

    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


class _Progress:
    """Step headers as they come, and a heartbeat line while a long step stays silent."""

    def __init__(self, emit, verbose=False):
        self.emit, self.verbose = emit or _print, verbose
        self.tail = deque(maxlen=40)
        self.title, self.started, self.last_line = None, time.monotonic(), ""
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def step(self, title, short=None):
        with self._lock:
            self.title, self.started = short or title.strip().split(" : ")[0], time.monotonic()
        self.emit(title)

    def line(self, text):
        text = text.rstrip()
        if not text:
            return
        self.tail.append(text)
        with self._lock:
            self.last_line = text
        if self.verbose:
            self.emit(f"    {text}")

    def _beat(self):
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with self._lock:
                title, elapsed, last = self.title, time.monotonic() - self.started, self.last_line
            if title and elapsed >= HEARTBEAT_SECONDS:
                self.emit(f"    ... {elapsed:.0f} s into {title}: {last.strip()[:100]}")


def _shorten(text, width=110):
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _print(text):
    print(text, file=sys.stderr, flush=True)


def ensure_base_image(client=None, progress=None):
    """The tag of a Debian bookworm image with python3, python3-venv and ca-certificates.

    In order: the image named by ``FRAMEWORK_SDK_BASE_IMAGE``; the engine's
    ``python:3.11-slim-bookworm``; our ``framework-sdk-base:bookworm``; a pull of
    ``python:3.11-slim-bookworm``; else (no registry) one made here, as root, with debootstrap
    and ``docker import``.
    """
    import docker

    client = docker_client(client)
    override = os.environ.get(BASE_IMAGE_ENV)
    if override:
        if not _has_image(client, override):
            try:
                client.images.pull(override)
            except docker.errors.APIError as error:
                raise ImageError(f"{BASE_IMAGE_ENV}={override}: the engine has no such image and "
                                 f"cannot pull it ({error.explanation or error})") from error
        return override
    for name in (PYTHON_IMAGE, BASE_IMAGE):
        if _has_image(client, name):
            return name
    try:
        client.images.pull(PYTHON_IMAGE)
        log.info("pulled %s as the base image", PYTHON_IMAGE)
        return PYTHON_IMAGE
    except docker.errors.APIError as error:
        pull_error = error.explanation or str(error)
    log.warning("cannot pull %s (%s); making %s from Debian packages with debootstrap instead",
                PYTHON_IMAGE, pull_error, BASE_IMAGE)
    make_base_image(client, progress=progress, why=f"{PYTHON_IMAGE} could not be pulled: {pull_error}")
    return BASE_IMAGE


def make_base_image(client=None, progress=None, why="asked to"):
    """Make ``framework-sdk-base:bookworm`` with debootstrap (minbase) and ``docker import``."""
    client = docker_client(client)
    problems = []
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        problems.append("debootstrap must run as root (run the build with sudo, or as root)")
    if not shutil.which("debootstrap"):
        problems.append("debootstrap is not installed (apt-get install debootstrap)")
    if problems:
        raise ImageError(
            f"cannot make the base image {BASE_IMAGE} ({why}): {'; '.join(problems)}. "
            f"Alternatively load or pull {PYTHON_IMAGE} into the engine, or set {BASE_IMAGE_ENV} "
            f"to any Debian bookworm image with python3, python3-venv and ca-certificates.")
    mirror = os.environ.get(DEBIAN_MIRROR_ENV, DEBIAN_MIRROR)
    with tempfile.TemporaryDirectory(prefix="framework-sdk-rootfs-", dir="/var/tmp") as rootfs, \
            _Progress(progress) as steps:
        steps.step(f"Making {BASE_IMAGE} with debootstrap from {mirror} (no base image to pull; "
                   f"a few minutes, once)", short="debootstrap")
        command = ["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
                   "bookworm", rootfs, mirror]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            for line in proc.stdout:
                steps.line(line)
        if proc.returncode != 0:
            raise ImageError(f"debootstrap failed (exit {proc.returncode}); its output ends with:\n"
                             + "\n".join(steps.tail))
        steps.step(f"Importing {rootfs} as {BASE_IMAGE}", short="docker import")
        with subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE) as tar:
            client.api.import_image(src=tar.stdout, repository=BASE_REPOSITORY, tag=BASE_TAG,
                                    stream_src=True)
        if tar.returncode != 0:
            raise ImageError(f"tar of {rootfs} failed (exit {tar.returncode})")
    log.info("made %s with debootstrap", BASE_IMAGE)
    return BASE_IMAGE


def build(names=None, client=None, progress=None, *, base_image=None, ca_bundle_path=None,
          nocache=False, verbose=False, folder=None):
    """Build the images under ``containers/`` (all, or the folders ``names``); one result each.

    ``progress`` receives human-readable lines (default: stderr). ``ca_bundle_path`` defaults
    to the file named by PIP_CERT, REQUESTS_CA_BUNDLE or SSL_CERT_FILE; pass ``False`` for none.
    """
    specs = image_specs(names, folder)
    client = docker_client(client)
    base = base_image or ensure_base_image(client, progress=progress)
    bundle = ca_bundle() if ca_bundle_path is None else (ca_bundle_path or None)
    return [_build_one(client, spec, base, bundle, progress, nocache, verbose) for spec in specs]


def _build_one(client, spec, base, bundle, progress, nocache, verbose):
    import docker

    previous = _image_id(client, spec.tag)
    buildargs = {"BASE_IMAGE": base}
    if bundle:
        buildargs["PIP_CERT"] = CA_BUNDLE_IN_IMAGE
    started, steps, cached = time.monotonic(), 0, 0
    emit = progress or _print
    emit(f"Building {spec.tag} from {spec.folder} on {base}"
         + (f" (pip trusts {bundle})" if bundle else ""))
    with _Progress(progress, verbose) as lines:
        stream = client.api.build(
            fileobj=io.BytesIO(build_context(spec, bundle)), custom_context=True, tag=spec.tag,
            buildargs=buildargs, labels=spec.labels, rm=True, forcerm=True, decode=True,
            nocache=nocache, pull=False, timeout=BUILD_READ_TIMEOUT)
        try:
            for event in stream:
                if "error" in event:
                    raise ImageError(f"building {spec.tag} failed: {event['error'].strip()}\n"
                                     f"last output:\n" + "\n".join(lines.tail))
                for text in event.get("stream", "").splitlines():
                    if text.startswith("Step "):
                        steps += 1
                        lines.step(f"  {_shorten(text)}")
                    elif text.strip() == "---> Using cache":
                        cached += 1
                        lines.line(text)
                    else:
                        lines.line(text)
        except docker.errors.APIError as error:
            raise ImageError(f"building {spec.tag} failed: {error.explanation or error}") from error
    image = client.images.get(spec.tag)
    if previous and previous != image.id:
        _remove_if_dangling(client, previous)
    result = BuildResult(spec.name, spec.tag, image.id, image.attrs["Size"],
                         time.monotonic() - started, steps, cached)
    emit(f"Built {result}")
    return result


def _image_id(client, name):
    import docker

    try:
        return client.images.get(name).id
    except docker.errors.ImageNotFound:
        return None


def _remove_if_dangling(client, image_id):
    """Remove the image a rebuild replaced, unless it still has a tag or a container uses it."""
    import docker

    try:
        if not client.images.get(image_id).tags:
            client.images.remove(image_id)
    except docker.errors.APIError as error:  # in use by a container, or already gone
        log.debug("kept replaced image %s: %s", image_id, error)


def list_images(client=None):
    """The framework images in the engine (those carrying our labels), one entry per tag."""
    client = docker_client(client)
    found = []
    for image in client.images.list(filters={"label": f"{LABEL_PREFIX}framework"}):
        labels = image.labels or {}
        if f"{LABEL_PREFIX}requirements-of" in labels:
            continue  # local mode's derived requirements images inherit our labels; they are not framework images
        for tag in image.tags:  # untagged (replaced) images are not listed
            found.append(ImageInfo(
                tag, labels.get(f"{LABEL_PREFIX}framework", ""), labels.get(f"{LABEL_PREFIX}framework-version", ""),
                labels.get(f"{LABEL_PREFIX}python-version", ""), labels.get(f"{LABEL_PREFIX}processor", ""),
                image.attrs.get("Size", 0), image.id))
    return sorted(found, key=lambda info: info.tag)
