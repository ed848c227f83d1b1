"""Build the framework images from their definitions, and list those the engine has.

``build()`` sends the engine the deterministic build context of
:mod:`framework_sdk.images.context` (image folder, installed toolkit, CA bundle) with the
base image as the ``BASE_IMAGE`` build argument; each result names the tag, size, time and
how many steps came from the engine's cache.
"""
import dataclasses
import io
import logging
import time

from framework_sdk.images.base import ensure_base_image
from framework_sdk.images.context import CA_BUNDLE_IN_IMAGE, build_context, ca_bundle
from framework_sdk.images.definitions import LABEL_PREFIX, ImageError, image_specs
from framework_sdk.images.engine import BUILD_READ_TIMEOUT, Progress, docker_client, image_id, print_line, shorten

log = logging.getLogger(__name__)


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


def build(names=None, client=None, progress=None, *, base_image=None, ca_bundle_path=None,
          nocache=False, verbose=False, folder=None):
    """Build the framework images (all, or the definition folders ``names``); one result each.

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

    previous = image_id(client, spec.tag)
    buildargs = {"BASE_IMAGE": base}
    if bundle:
        buildargs["PIP_CERT"] = CA_BUNDLE_IN_IMAGE
    started, steps, cached = time.monotonic(), 0, 0
    emit = progress or print_line
    emit(f"Building {spec.tag} from {spec.folder} on {base}"
         + (f" (pip trusts {bundle})" if bundle else ""))
    with Progress(progress, verbose) as lines:
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
                        lines.step(f"  {shorten(text)}")
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


def _remove_if_dangling(client, replaced):
    """Remove the image a rebuild replaced, unless it still has a tag or a container uses it."""
    import docker

    try:
        if not client.images.get(replaced).tags:
            client.images.remove(replaced)
    except docker.errors.APIError as error:  # in use by a container, or already gone
        log.debug("kept replaced image %s: %s", replaced, error)


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
