"""Resolve a framework, version, Python version and processor to an image name.

Locally an image is named ``framework-sdk-<framework>:<version>-<processor>-<py_version>``
(what ``framework-sdk images build`` tags); on AWS the same repository and tag live in
the user's ECR registry: ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>``.
"""
from __future__ import annotations

from .exceptions import ConfigurationError

FRAMEWORKS = {
    # framework -> {version: supported python versions}
    "chainer": {"7.8.1": ("py3",)},
    "python": {"3.11": ("py3",)},
}
DEFAULT_PY_VERSION = "py3"


class UnsupportedVersionError(ConfigurationError):
    """A framework or version we build no image for (a ``ValueError``); the message lists the supported ones."""


def supported_versions(framework: str) -> list[str]:
    """The versions of ``framework`` we build images for."""
    return sorted(FRAMEWORKS.get(framework, {}))


def processor_for(instance_type: str | None) -> str:
    """``'gpu'`` for GPU instance types (``ml.p*``, ``ml.g*``, ``local_gpu``), ``'cpu'`` otherwise."""
    if not instance_type:
        return "cpu"
    if instance_type == "local_gpu":
        return "gpu"
    family = instance_type.split(".")[1] if instance_type.startswith("ml.") else ""
    return "gpu" if family[:1] in ("p", "g") else "cpu"


def repository(framework: str) -> str:
    """The image repository name for ``framework``."""
    return f"framework-sdk-{framework}"


def tag(version: str, processor: str = "cpu", py_version: str = DEFAULT_PY_VERSION) -> str:
    return f"{version}-{processor}-{py_version}"


def validate(framework: str, version: str, py_version: str = DEFAULT_PY_VERSION) -> None:
    """Raise :class:`UnsupportedVersionError` naming the supported choices when there is no such image."""
    versions = FRAMEWORKS.get(framework)
    if versions is None:
        raise UnsupportedVersionError(
            f"unknown framework {framework!r}; supported: {', '.join(sorted(FRAMEWORKS))}")
    if version not in versions:
        raise UnsupportedVersionError(
            f"{framework} framework_version {version!r} is not supported; "
            f"supported versions: {', '.join(supported_versions(framework))}")
    if py_version not in versions[version]:
        raise UnsupportedVersionError(
            f"{framework} {version} has no image for py_version {py_version!r}; "
            f"supported: {', '.join(versions[version])}")


def retrieve(framework: str, version: str, py_version: str = DEFAULT_PY_VERSION, instance_type: str | None = None,
             region: str | None = None, account: str | None = None) -> str:
    """The image for a framework job: a local name, or an ECR URI when ``region`` and ``account`` are given."""
    validate(framework, version, py_version)
    name = f"{repository(framework)}:{tag(version, processor_for(instance_type), py_version)}"
    if region and account:
        return f"{ecr_registry(region, account)}/{name}"
    return name


def ecr_registry(region: str, account: str) -> str:
    """The host of ``account``'s ECR registry in ``region``: ``<account>.dkr.ecr.<region>.amazonaws.com``."""
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}"
