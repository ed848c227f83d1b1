"""Frameworks, registered by entry points and chosen by the image's ``FRAMEWORK_SDK_FRAMEWORK``.

A framework is a module that a pip-installed distribution names in its entry points::

    [project.entry-points."framework_sdk.frameworks"]
    centroid = "centroid_framework.toolkit"

The group is ``framework_sdk.frameworks``: the importable name of the package whose extension
point it is, then what is registered (the convention of ``pytest11``-style groups spelled as
Python names, e.g. ``flake8.extension``), so it can never collide with another project's group.
framework-sdk registers its own frameworks (``chainer``, ``python``, ``sklearn``) the same way,
in its ``pyproject.toml``: no framework is special.

The module is imported by both halves, so it imports only the standard library, ``framework_sdk.
codecs`` and ``framework_sdk.container`` at its top (the framework itself inside functions). It
may define, all optional:

- ``training_defaults(environment) -> dict``: framework-parameter defaults (``sagemaker_*`` keys)
  merged under the job's own values before training starts;
- ``TRAINING_MODULE``: the framework's start module (``"package.module"``); ``train`` runs it
  with :mod:`framework_sdk.container.runner` instead of the script-mode flow;
- serving functions ``default_model_fn``, ``default_input_fn``, ``default_predict_fn``,
  ``default_output_fn`` (or ``default_transform_fn``) used when the user's script has none;
- ``CHECK_SCRIPT``: a training script (a path relative to the module's package, shipped as package
  data) that ``framework-sdk check`` runs in the framework's image when the user gives none. It
  trains on a numeric CSV (label first) and serves with ``model_fn``;
- the client half: ``IMAGE_VERSIONS`` (``{"1.0": ("py3",)}``: the versions its images are built
  for), ``IMAGE_REPOSITORY`` (default ``framework-sdk-<name>``), ``ESTIMATOR`` and ``MODEL``
  (``"package.module:Class"``, classes built on ``framework_sdk.estimator.Framework`` /
  ``framework_sdk.model.FrameworkModel``; named as strings so the toolkit never imports the client)
  and ``IMAGE_DEFINITION`` (``"package:folder"``, a folder of package data holding ``Dockerfile``
  and ``image.toml``, as ``framework_sdk/images/<name>/``).
"""
import functools
import importlib
import importlib.resources
import re
from importlib import metadata

from framework_sdk.container.errors import ToolkitError

FRAMEWORK_ENV = "FRAMEWORK_SDK_FRAMEWORK"
ENTRY_POINT_GROUP = "framework_sdk.frameworks"
_NAME = re.compile(r"[a-z_][a-z0-9_]*")


class FrameworkLoadError(ToolkitError, ImportError):
    """A registered framework's module cannot be imported; the message names the distribution."""


@functools.lru_cache(maxsize=1)
def registered():
    """``{name: entry point}`` of every framework the installed distributions register."""
    points = {}
    for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        points.setdefault(point.name, point)  # the first distribution on sys.path wins, as imports do
    return points


def names():
    """The registered framework names, sorted."""
    return sorted(registered())


def load(name):
    """The framework module registered as ``name`` (e.g. ``"chainer"``), or None when ``name`` is empty or unknown."""
    if not name or not _NAME.fullmatch(name):
        return None
    point = registered().get(name)
    if point is None:
        return None
    try:
        return point.load()
    except ImportError as error:
        dist = getattr(point, "dist", None)
        owner = f"the distribution {dist.name}" if dist is not None else "an installed distribution"
        raise FrameworkLoadError(f"the framework {name!r} registered by {owner} as {point.value!r} cannot be "
                                 f"imported: {error}; reinstall that distribution") from error


def training_defaults(framework, environment):
    """``framework.training_defaults(environment)`` when the module defines it, else ``{}``."""
    hook = getattr(framework, "training_defaults", None)
    return dict(hook(environment)) if hook else {}


def check_script(framework):
    """``(file name, source)`` of the framework's built-in ``CHECK_SCRIPT``, or None when it declares none."""
    relative = getattr(framework, "CHECK_SCRIPT", None)
    if not relative:
        return None
    resource = importlib.resources.files(framework.__spec__.parent)
    for part in relative.split("/"):
        resource = resource.joinpath(part)
    return resource.name, resource.read_text(encoding="utf-8")


def image_versions(framework):
    """``{version: (py_version, ...)}`` the framework's images are built for (``IMAGE_VERSIONS``), else ``{}``."""
    return {str(version): tuple(pys) for version, pys in (getattr(framework, "IMAGE_VERSIONS", None) or {}).items()}


def image_definition(framework):
    """The folder of the framework's image definition (``IMAGE_DEFINITION``, ``"package:folder"``), or None."""
    where = getattr(framework, "IMAGE_DEFINITION", None)
    if not where:
        return None
    package, _, folder = where.partition(":")
    resource = importlib.resources.files(package)
    for part in folder.split("/") if folder else ():
        resource = resource.joinpath(part)
    return resource


def resolve(reference):
    """The object a ``"package.module:attribute"`` string names."""
    module, _, attribute = reference.partition(":")
    value = importlib.import_module(module)
    for part in attribute.split(".") if attribute else ():
        value = getattr(value, part)
    return value
