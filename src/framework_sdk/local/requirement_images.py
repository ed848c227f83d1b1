"""Docker images with a user's ``requirements.txt`` installed: one per (image id, file content), reused.

A framework image's toolkit pip-installs the code's ``requirements.txt`` at the start of every
run. The docker backend instead builds, once, a small image ``FROM`` the framework image with
the requirements installed, tagged ``framework-sdk-requirements:<key>`` (the key hashes the
image id and the file's content), and runs the job or endpoint there with
``FRAMEWORK_SDK_REQUIREMENTS_INSTALLED=1``: a second run with the same requirements installs
nothing. When the framework image is rebuilt, the next build removes the requirement images
made on its older versions. pip trusts the CA bundle named by ``PIP_CERT`` (or ``REQUESTS_CA_BUNDLE``,
``SSL_CERT_FILE``), as the framework image builds do.
"""
import hashlib
import io
import re
import tarfile
import threading

from framework_sdk import images
from framework_sdk.local.errors import LocalModeError

REPOSITORY = "framework-sdk-requirements"
LABEL_OF = f"{images.LABEL_PREFIX}requirements-of"          # the image the requirements go on
LABEL_BASE_ID = f"{images.LABEL_PREFIX}requirements-base-id"  # its id when the layer was built
FRAMEWORK_LABEL = f"{images.LABEL_PREFIX}framework"
FOLDER = "/opt/framework-sdk/user-requirements"
PIP_ERROR_LINES = 25
ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")
DOCKER_LINES = ("Step ", " ---> ", "Removing intermediate container", "Successfully built ", "Successfully tagged ")
DOCKERFILE = f"""\
FROM {{base}}
COPY requirements.txt build-ca.pem {FOLDER}/
RUN cd {FOLDER} \\
 && if [ -s build-ca.pem ]; then export PIP_CERT={FOLDER}/build-ca.pem; fi \\
 && python -m pip install --no-input --disable-pip-version-check -r requirements.txt
"""
_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


def is_framework_image(image):
    """True for our framework images (their toolkit honours ``FRAMEWORK_SDK_REQUIREMENTS_INSTALLED``)."""
    return FRAMEWORK_LABEL in (image.labels or {})


def tag_for(image_id, requirements):
    """The tag of the image that has ``requirements`` (bytes) installed on the image ``image_id``."""
    key = hashlib.sha256(image_id.encode() + b"\0" + requirements).hexdigest()[:16]
    return f"{REPOSITORY}:{key}"


def context(base, requirements, ca_bundle_path=None):
    """The build context (tar bytes): the Dockerfile, ``requirements.txt`` and ``build-ca.pem`` (maybe empty)."""
    files = {"Dockerfile": DOCKERFILE.format(base=base).encode(), "requirements.txt": requirements,
             "build-ca.pem": ca_bundle_path.read_bytes() if ca_bundle_path else b""}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, images.CONTEXT_MTIME
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def ensure(client, image_name, requirements_file, on_line=None):
    """The tag of ``image_name`` with ``requirements_file`` installed, built on first use and reused after.

    ``on_line`` receives the build's output lines (pip's) as they come. A failing install
    raises :class:`LocalModeError` holding pip's last lines.
    """
    from docker.errors import APIError, ImageNotFound

    base = client.images.get(image_name)
    requirements = requirements_file.read_bytes()
    tag = tag_for(base.id, requirements)
    with _lock_for(tag):
        try:
            client.images.get(tag)
            if on_line is not None:
                on_line(f"requirements of {requirements_file} already installed in {tag} (reused)")
            return tag
        except ImageNotFound:
            pass
        if on_line is not None:
            on_line(f"installing {requirements_file} into {tag} (once for these requirements on {image_name})")
        tail = []
        try:
            stream = client.api.build(
                fileobj=io.BytesIO(context(base.id, requirements, images.ca_bundle())), custom_context=True,
                tag=tag, labels={LABEL_OF: image_name, LABEL_BASE_ID: base.id}, rm=True, forcerm=True,
                decode=True, pull=False, timeout=images.BUILD_READ_TIMEOUT)
            for event in stream:
                for line in pip_lines(event.get("stream", "")):
                    tail = (tail + [line])[-PIP_ERROR_LINES:]
                    if on_line is not None:
                        on_line(line)
                if "error" in event:
                    raise LocalModeError(_failure(requirements_file, image_name, tail, event["error"]))
        except APIError as error:
            raise LocalModeError(_failure(requirements_file, image_name, tail, error.explanation or error)) from None
        prune(client, image_name, base.id)
        return tag


def prune(client, image_name, current_id):
    """Remove the requirement images built on an older image of ``image_name`` (it was rebuilt since),
    and that older image itself once nothing tags it; images a container still uses are kept."""
    from docker.errors import APIError

    stale = [image for image in client.images.list(filters={"label": f"{LABEL_OF}={image_name}"})
             if (image.labels or {}).get(LABEL_BASE_ID) not in (None, current_id)]
    for image in stale:
        try:
            client.images.remove(image.id)
        except APIError:
            continue  # in use by a container
        try:
            old = client.images.get(image.labels[LABEL_BASE_ID])
            if not old.tags:
                client.images.remove(old.id)
        except APIError:
            pass  # gone already, or still a parent of something


def pip_lines(text):
    """pip's lines in a chunk of build output: no colour codes, no blank lines, none of docker's own."""
    lines = (ANSI_CODES.sub("", line).rstrip() for line in text.splitlines())
    return [line for line in lines if line.strip() and not line.startswith(DOCKER_LINES)]


def _failure(requirements_file, image_name, tail, error):
    said = "\n".join(tail) or "(no output)"
    code = re.search(r"returned a non-zero code: (\d+)", str(error))
    how = f"exit code {code.group(1)}" if code else str(error).strip()
    return (f"pip could not install {requirements_file} on {image_name} ({how}); fix the requirements "
            f"(names, versions, access to the package index) and run again. pip said:\n{said}")


def _lock_for(tag):
    with _locks_lock:
        return _locks.setdefault(tag, threading.Lock())
