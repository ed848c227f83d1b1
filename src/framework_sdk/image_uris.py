"""Resolve a framework, version, Python version and processor to an image name.

The frameworks and their versions are those registered by entry points (``FRAMEWORKS``).

Locally an image is named ``framework-sdk-<framework>:<version>-<processor>-<py_version>``
(what ``framework-sdk images build`` tags); on AWS the same repository and tag live in
the user's ECR registry: ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>``.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping

from .exceptions import ConfigurationError


class _RegisteredFrameworks(MutableMapping[str, Mapping[str, tuple[str, ...]]]):
    """framework -> {version: supported python versions}, from the frameworks registered by entry points
    (:mod:`framework_sdk.container.frameworks`, ``IMAGE_VERSIONS``), read on use; entries set here
    (a tool's or a test's own) come on top."""

    def __init__(self) -> None:
        self._set: dict[str, Mapping[str, tuple[str, ...]]] = {}

    def _table(self) -> dict[str, Mapping[str, tuple[str, ...]]]:
        from .container import frameworks

        table: dict[str, Mapping[str, tuple[str, ...]]] = {}
        for name in frameworks.names():
            versions = frameworks.image_versions(frameworks.load(name))
            if versions:
                table[name] = versions
        return {**table, **self._set}

    def __setitem__(self, name: str, versions: Mapping[str, tuple[str, ...]]) -> None:
        self._set[name] = versions

    def __delitem__(self, name: str) -> None:
        del self._set[name]

    def __getitem__(self, name: str) -> Mapping[str, tuple[str, ...]]:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


FRAMEWORKS: MutableMapping[str, Mapping[str, tuple[str, ...]]] = _RegisteredFrameworks()
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
