"""Push images to a registry: :func:`push`, behind ``framework-sdk images push``.

A name is an image definition (``chainer`` means its tag, ``framework-sdk-chainer:7.8.1-cpu-py3``)
or any local image by its tag. By default the images go to the account's ECR registry in the
session's region under the same repository and tag, so the URI pushed is the one
:func:`framework_sdk.image_uris.retrieve` gives and an estimator sends in CreateTrainingJob;
:mod:`framework_sdk.images.ecr` creates the repositories when missing and gets the push
credentials. ``registry=HOST`` pushes to any other registry instead, with no AWS call and the
credentials of the user's Docker configuration (``docker login HOST``), if any.

The engine pushes (docker-py), with the credentials on the push request itself: no
``docker login``, nothing written to the Docker configuration. The image is tagged
``<registry>/<repository>:<tag>`` for the push, and that tag is removed afterwards unless it
was there before. The engine asks the registry for each layer first and uploads only the
missing ones, so pushing an unchanged image again uploads nothing, and the result says so.
"""
from __future__ import annotations

import dataclasses
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, TextIO, Union

from framework_sdk import image_uris
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.images import ecr
from framework_sdk.images.definitions import ImageError, ImageSpec, image_specs
from framework_sdk.images.engine import docker_client, image_id, print_line
from framework_sdk.session import Session

if TYPE_CHECKING:
    import docker

Progress = Union[Callable[[str], None], bool, None]
_DIGEST_LINE = re.compile(r"digest: (sha256:[0-9a-f]{64})")
_LIVE_INTERVAL = 0.2  # seconds between redraws of the terminal's byte counter


class PushError(ImageError):
    """An image could not be pushed; the message names the reason and what to do."""


@dataclasses.dataclass(frozen=True)
class Registry:
    """Where images go: ``host`` (``host[:port][/namespace]``, no scheme) and the credentials docker-py sends.

    ``auth_config`` is ``{"username": ..., "password": ...}``, or None for those of the Docker
    configuration (``~/.docker/config.json``, read, never written).
    """

    host: str
    auth_config: Mapping[str, str] | None = None

    @classmethod
    def parse(cls, host: str) -> Registry:
        """The registry named by ``--registry HOST``."""
        host = host.strip().rstrip("/")
        if "://" in host:
            raise ConfigurationError(f"--registry takes a host such as registry.example.com or 127.0.0.1:5000, "
                                     f"not a URL: drop {host.split('://')[0]}://")
        if not host or host.startswith("/"):
            raise ConfigurationError(f"--registry {host!r} names no host; give host or host:port")
        return cls(host)

    def image_uri(self, repository: str, tag: str) -> str:
        return f"{self.host}/{repository}:{tag}"


@dataclasses.dataclass(frozen=True)
class LocalImage:
    """An image of the engine, by the tag it was named by: what gets pushed."""

    reference: str         # repository:tag, as the engine knows it
    image_id: str
    registry: str | None   # the registry host in the reference (123456789012.dkr.ecr...), if any
    repository: str        # the repository without that host
    tag: str


@dataclasses.dataclass(frozen=True)
class PushResult:
    """One pushed image: where it went, its manifest digest, and what was uploaded.

    ``uncompressed_bytes`` counts the uploaded layers as the engine reads them, before it
    compresses them for the registry (the engine reports no compressed sizes while pushing).
    """

    source: str
    uri: str
    digest: str
    layers: int
    layers_pushed: int
    uncompressed_bytes: int
    seconds: float

    @property
    def uploaded_nothing(self) -> bool:
        """True when the registry had every layer already (only the manifest was sent)."""
        return self.layers_pushed == 0

    def summary(self) -> str:
        layers = f"{self.layers} layer{'s' if self.layers != 1 else ''}"
        if self.uploaded_nothing:
            return f"nothing uploaded: the registry had all {layers} already"
        present = self.layers - self.layers_pushed
        return (f"{self.layers_pushed} of {layers} uploaded ({_size(self.uncompressed_bytes)} uncompressed), "
                f"{present} in the registry already")

    def __str__(self) -> str:
        return f"{self.uri}  {self.digest}  ({self.summary()}; {self.seconds:.1f} s)"


def push(names: str | Sequence[str], *, session: Session | None = None, region: str | None = None,
         account: str | None = None, repository_prefix: str | None = None, registry: str | Registry | None = None,
         client: docker.DockerClient | None = None, progress: Progress = None) -> list[PushResult]:
    """Push the images ``names`` (definition names such as ``chainer``, or local tags); one result each.

    To ECR by default: ``account`` (default: the caller's, from STS) in the session's region
    (``region`` makes a session there when none is given), under ``repository_prefix/`` when given;
    missing repositories are created. ``registry`` (``host[:port]``, or a :class:`Registry`)
    pushes there instead, with no AWS call. ``progress``: None shows each layer on a terminal
    (stderr) and nothing otherwise; a callable receives the lines; False is silent.
    """
    wanted = _names(names)
    if registry is not None and (session is not None or region or account):
        raise ConfigurationError("registry= pushes to that registry with no AWS call; session, region and account "
                                 "name an ECR registry: give one or the other")
    destination = Registry.parse(registry) if isinstance(registry, str) else registry
    client = docker_client(client)
    images = [find_local_image(client, name) for name in wanted]  # all there, before anything is sent
    repositories = [_repository(repository_prefix, image.repository) for image in images]
    if destination is None:
        session = aws_session(session, region)
        account = ecr.check_account(account) if account else session.account_id()
        for image in images:
            check_same_ecr_registry(image, image_uris.ecr_registry(session.boto_region_name, account))
        destination = ecr_registry(session, repositories, account=account)
    emit, live = _reporting(progress)
    return [push_image(client, image, destination, repository, emit, live)
            for image, repository in zip(images, repositories)]


def ecr_registry(session: Session | None = None, repositories: Iterable[str] = (), *, region: str | None = None,
                 account: str | None = None) -> Registry:
    """The ECR registry of ``account`` (default: the caller's) in the session's region, with push credentials.

    Creates each of ``repositories`` that is missing (DescribeRepositories, CreateRepository),
    then decodes GetAuthorizationToken's token into the registry's ``auth_config``.
    """
    session = aws_session(session, region)
    account = ecr.check_account(account) if account else session.account_id()
    host = image_uris.ecr_registry(session.boto_region_name, account)
    for repository in dict.fromkeys(repositories):
        ecr.ensure_repository(session, account, repository)
    login = ecr.login(session)
    ecr.check_login_region(login, host)
    return Registry(host, login.auth_config)


def aws_session(session: Session | None, region: str | None) -> Session:
    """``session``, or a new one in ``region`` (default: boto3's); refuses a ``region`` other than the session's."""
    if session is None:
        if not region:
            return Session()
        import boto3

        return Session(boto_session=boto3.Session(region_name=region))
    if session.local_mode:
        raise ConfigurationError("pushing to ECR needs an AWS Session, not a LocalSession (local mode runs the "
                                 "engine's images as they are); pass Session(), or registry=HOST for another registry")
    if region and region != session.boto_region_name:
        raise ConfigurationError(
            f"region mismatch: region={region!r} but the session is in {session.boto_region_name!r}; its ECR "
            f"credentials are for {session.boto_region_name}, and its estimators send "
            f"{session.boto_region_name}'s ECR URI to SageMaker: pass a session in {region} "
            f"(Session(boto_session=boto3.Session(region_name={region!r}))), or leave region out")
    return session


def check_same_ecr_registry(image: LocalImage, host: str) -> None:
    """Refuse to push an image named for one ECR registry (account and region) to another."""
    named, target = ecr.parse_host(image.registry or ""), ecr.parse_host(host)
    if not named or not target or named == target:
        return
    what = "region" if named[1] != target[1] else "account"
    raise ConfigurationError(
        f"{what} mismatch: {image.reference} names the ECR registry of account {named[0]} in {named[1]}, but this "
        f"session pushes to {host} (account {target[0]}, region {target[1]}); ECR repositories and credentials are "
        f"per account and region, and SageMaker pulls from the registry of the job's own region: push from a "
        f"session in {named[1]} (--region {named[1]}{f' --account {named[0]}' if what == 'account' else ''}), "
        f"or name the image without its registry host")


def find_local_image(client: docker.DockerClient, name: str) -> LocalImage:
    """The engine's image for ``name``: an image definition's tag, or ``name`` itself (``:latest`` if untagged)."""
    import docker
    from docker.auth import INDEX_NAME, split_repo_name
    from docker.utils import parse_repository_tag

    spec = _definition(name)
    reference = spec.tag if spec else name
    if "@" in reference or reference.startswith("sha256:"):
        raise ConfigurationError(f"{name!r}: give the image by its tag (repository:tag); a push needs a tag")
    repository, tag = parse_repository_tag(reference)
    tag = tag or "latest"
    host, path = split_repo_name(repository)
    try:
        image = client.images.get(f"{repository}:{tag}")
    except docker.errors.ImageNotFound:
        raise PushError(f"no local image {repository}:{tag} to push: {_build_hint(name, spec)}") from None
    return LocalImage(f"{repository}:{tag}", str(image.id), None if host == INDEX_NAME else host,
                      path, tag)


def push_image(client: docker.DockerClient, image: LocalImage, registry: Registry, repository: str | None = None,
               emit: Callable[[str], None] | None = None, live: TextIO | None = None) -> PushResult:
    """Push ``image`` to ``registry`` as ``repository`` (default: its own) with its tag; the engine does the work."""
    import docker

    uri = registry.image_uri(repository or image.repository, image.tag)
    target = uri.rpartition(":")[0]
    ours = image_id(client, uri) is None  # the tag is ours to remove afterwards
    tracker = PushProgress(emit, live)
    started = time.monotonic()
    if emit:
        emit(f"Pushing {image.reference} to {uri}")
    try:
        client.api.tag(image.image_id, target, image.tag)  # the image found, even if its tag moved since
        events = client.api.push(target, tag=image.tag, stream=True, decode=True,
                                 auth_config=dict(registry.auth_config) if registry.auth_config else None)
        for event in events:
            if event.get("error"):
                raise PushError(_failure(image, uri, registry, str(event["error"])))
            tracker.update(event)
    except docker.errors.APIError as error:
        raise PushError(_failure(image, uri, registry, str(error.explanation or error))) from error
    finally:
        tracker.close()
        if ours and uri != image.reference:
            _untag(client, uri)
    return PushResult(image.reference, uri, tracker.digest, len(tracker.layers), len(tracker.pushed),
                      tracker.uncompressed_bytes, time.monotonic() - started)


class PushProgress:
    """Follows the engine's push events: each layer's outcome, its bytes read, and the manifest digest.

    Reports a line per layer as it finishes (uploaded, or in the registry already) to ``emit``;
    with ``live`` (a terminal) it also keeps a byte counter on the line being written.
    """

    def __init__(self, emit: Callable[[str], None] | None = None, live: TextIO | None = None) -> None:
        self.emit, self.live = emit, live
        self.layers: dict[str, str] = {}   # layer id -> its last status
        self.sent: dict[str, int] = {}     # layer id -> its uncompressed bytes read so far
        self.pushed: set[str] = set()
        self.digest = ""
        self._drawn = 0.0

    @property
    def uncompressed_bytes(self) -> int:
        return sum(self.sent.get(layer, 0) for layer in self.pushed)

    def update(self, event: Mapping[str, Any]) -> None:
        aux = event.get("aux")
        if isinstance(aux, Mapping) and aux.get("Digest"):
            self.digest = str(aux["Digest"])
        status, layer = str(event.get("status") or ""), event.get("id")
        if not self.digest and (match := _DIGEST_LINE.search(status)):
            self.digest = match[1]
        if not layer:
            return
        self.layers[layer] = status
        if status == "Pushing":
            self.sent[layer] = int((event.get("progressDetail") or {}).get("current") or 0)
            self._draw()
        elif status == "Pushed":
            self.pushed.add(layer)
            self._line(f"  {layer}: uploaded ({_size(self.sent.get(layer, 0))} uncompressed)")
        elif status == "Layer already exists":
            self._line(f"  {layer}: in the registry already")
        elif status.startswith(("Mounted from", "Retrying")):
            self._line(f"  {layer}: {status[0].lower()}{status[1:]}")

    def close(self) -> None:
        if self.live and self._drawn:
            self.live.write("\r\033[K")
            self.live.flush()

    def _line(self, text: str) -> None:
        if self.live and self._drawn:
            self.live.write("\r\033[K")  # the byte counter gives way to the finished layer's line
            self._drawn = 0.0
        if self.emit:
            self.emit(text)

    def _draw(self) -> None:
        now = time.monotonic()
        if not self.live or now - self._drawn < _LIVE_INTERVAL:
            return
        uploading = sum(status == "Pushing" for status in self.layers.values())
        self.live.write(f"\r\033[K  uploading {uploading} layer{'s' if uploading != 1 else ''}, "
                        f"{_size(sum(self.sent.values()))} (uncompressed) so far")
        self.live.flush()
        self._drawn = now


def _reporting(progress: Progress) -> tuple[Callable[[str], None] | None, TextIO | None]:
    """``(emit, live)`` for ``progress``: a terminal gets layer lines and a byte counter by default."""
    if progress is False:
        return None, None
    terminal = sys.stderr if sys.stderr.isatty() else None
    if callable(progress):
        return progress, None
    if progress is None and terminal is None:
        return None, None
    return print_line, terminal


def _names(names: str | Sequence[str]) -> list[str]:
    found = list(dict.fromkeys([names] if isinstance(names, str) else names))
    if not found:
        raise ConfigurationError("name the images to push: definitions (chainer, python) or local tags (my-algo:1)")
    return found


def _repository(prefix: str | None, repository: str) -> str:
    prefix = (prefix or "").strip("/")
    return f"{prefix}/{repository}" if prefix else repository


def _definition(name: str) -> ImageSpec | None:
    """The image definition named ``name`` (``chainer``), or whose tag ``name`` is; None for other images."""
    return next((spec for spec in image_specs() if name in (spec.name, spec.tag)), None)


def _build_hint(name: str, spec: ImageSpec | None) -> str:
    if spec:
        return f"build it first with `framework-sdk images build {spec.name}`"
    available = ", ".join(spec.name for spec in image_specs())
    return (f"build it (`docker build -t {name} .`) or pull it first; or name an image definition ({available}), "
            f"which `framework-sdk images build` makes (`framework-sdk images list` shows those built)")


def _failure(image: LocalImage, uri: str, registry: Registry, message: str) -> str:
    """Why pushing ``image`` to ``uri`` failed, and what to do."""
    return f"pushing {image.reference} to {uri} failed: {message.strip()}{_advice(message, uri, registry)}"


def _advice(message: str, uri: str, registry: Registry) -> str:
    lowered = message.lower()
    host = registry.host.split("/")[0]
    on_ecr = ecr.parse_host(host) is not None
    if "immutable" in lowered:
        repository = uri[len(registry.host) + 1:].rpartition(":")[0]
        return (f" -> the repository's tags are immutable and this tag is there already: push under another tag, "
                f"or make its tags mutable (`aws ecr put-image-tag-mutability --repository-name {repository} "
                f"--image-tag-mutability MUTABLE`)")
    if on_ecr and "expired" in lowered:
        return " -> the ECR credentials expired (they last 12 hours): push again"
    if "denied" in lowered or "not authorized" in lowered:
        if on_ecr:
            return (f" -> the credentials lack a push permission on the repository: a push needs "
                    f"{', '.join(ecr.PUSH_PERMISSIONS)} (the registry's message names the one refused)")
        return " -> the registry refused this account a push to that repository; use an account that may push"
    if "no basic auth credentials" in lowered or "authentication required" in lowered or "unauthorized" in lowered:
        if on_ecr:
            return " -> ECR refused the push credentials (expired, or issued for another registry): push again"
        return (f" -> {host} wants credentials: `docker login {host}` once (framework-sdk reads them from the Docker "
                f"configuration and writes nothing), then push again")
    if "http response to https client" in lowered:
        return (f" -> {host} speaks plain HTTP: the engine pushes over HTTP only to registries in its "
                f"`insecure-registries` (daemon.json; 127.0.0.0/8 always is)")
    if "connection refused" in lowered or "no such host" in lowered or "dial tcp" in lowered:
        return f" -> no registry answers at {host}: check the host and port"
    return ""


def _untag(client: docker.DockerClient, reference: str) -> None:
    import docker

    try:
        client.api.remove_image(reference, noprune=True)
    except docker.errors.APIError:  # already gone, or removed by someone else meanwhile
        pass


def _size(count: int) -> str:
    return f"{count / 1e6:,.1f} MB" if count >= 1e6 else f"{count / 1e3:.1f} kB"
