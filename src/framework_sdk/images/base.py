"""The Debian bookworm base image every framework image starts from.

In order: the image named by ``FRAMEWORK_SDK_BASE_IMAGE``; the engine's
``python:3.11-slim-bookworm``; our ``framework-sdk-base:bookworm``; a pull of
``python:3.11-slim-bookworm``; else (no registry) one made here, as root, with debootstrap
and ``docker import``.
"""
import logging
import os
import shutil
import subprocess
import tempfile

from framework_sdk.images.definitions import ImageError
from framework_sdk.images.engine import Progress, docker_client, has_image

log = logging.getLogger(__name__)

PYTHON_IMAGE = "python:3.11-slim-bookworm"
BASE_REPOSITORY, BASE_TAG = "framework-sdk-base", "bookworm"
BASE_IMAGE = f"{BASE_REPOSITORY}:{BASE_TAG}"
BASE_IMAGE_ENV = "FRAMEWORK_SDK_BASE_IMAGE"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_MIRROR_ENV = "FRAMEWORK_SDK_DEBIAN_MIRROR"


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
        if not has_image(client, override):
            try:
                client.images.pull(override)
            except docker.errors.APIError as error:
                raise ImageError(f"{BASE_IMAGE_ENV}={override}: the engine has no such image and "
                                 f"cannot pull it ({error.explanation or error})") from error
        return override
    for name in (PYTHON_IMAGE, BASE_IMAGE):
        if has_image(client, name):
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
            Progress(progress) as steps:
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
