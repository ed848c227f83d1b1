"""The framework images: their definitions (package data), the toolkit that goes into them, building.

Each folder of this package with a ``Dockerfile`` and an ``image.toml`` (``chainer/``,
``python/``) defines one image; they ship in the wheel and are read with
:mod:`importlib.resources`. The modules, by concern:

- :mod:`~framework_sdk.images.definitions`: ``image.toml`` read into :class:`ImageSpec`;
- :mod:`~framework_sdk.images.toolkit`: the installed framework-sdk package as it goes into
  an image or a process environment (:class:`Toolkit`);
- :mod:`~framework_sdk.images.context`: the deterministic build context, and the CA bundle;
- :mod:`~framework_sdk.images.engine`: the Docker client and progress lines;
- :mod:`~framework_sdk.images.base`: the Debian base image (pulled, or made with debootstrap);
- :mod:`~framework_sdk.images.builder`: :func:`build` and :func:`list_images`;
- :mod:`~framework_sdk.images.push`: :func:`push` to ECR or any registry (``framework-sdk images push``),
  with :mod:`~framework_sdk.images.ecr` for the repositories and push credentials.

docker is imported only when an engine is used; importing this package is stdlib only.
"""
from framework_sdk.images.base import (
    BASE_IMAGE,
    BASE_IMAGE_ENV,
    DEBIAN_MIRROR_ENV,
    PYTHON_IMAGE,
    ensure_base_image,
    make_base_image,
)
from framework_sdk.images.builder import BuildResult, ImageInfo, build, list_images
from framework_sdk.images.context import CA_BUNDLE_ENV_VARS, CA_BUNDLE_IN_IMAGE, CONTEXT_MTIME, build_context, ca_bundle
from framework_sdk.images.definitions import (
    LABEL_PREFIX,
    ImageError,
    ImageSpec,
    PipStep,
    definitions_dir,
    find_spec,
    image_specs,
    load_spec,
)
from framework_sdk.images.engine import BUILD_READ_TIMEOUT, docker_client
from framework_sdk.images.push import PushError, PushResult, Registry, ecr_registry, push
from framework_sdk.images.toolkit import Toolkit, toolkit_requirements

__all__ = [
    "BASE_IMAGE", "BASE_IMAGE_ENV", "BUILD_READ_TIMEOUT", "CA_BUNDLE_ENV_VARS", "CA_BUNDLE_IN_IMAGE", "CONTEXT_MTIME",
    "DEBIAN_MIRROR_ENV", "LABEL_PREFIX", "PYTHON_IMAGE", "BuildResult", "ImageError", "ImageInfo", "ImageSpec",
    "PipStep", "PushError", "PushResult", "Registry", "Toolkit", "build", "build_context", "ca_bundle", "definitions_dir", "docker_client",
    "ecr_registry", "ensure_base_image", "find_spec", "image_specs", "list_images", "load_spec", "make_base_image",
    "push", "toolkit_requirements",
]
