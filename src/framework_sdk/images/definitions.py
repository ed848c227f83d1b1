"""Image definitions: the folders of this package that hold a ``Dockerfile`` and an ``image.toml``.

They travel in the wheel as package data and are found with :mod:`importlib.resources`, so a
wheel install and an editable checkout read the same files. ``image.toml`` names the image's
framework, version, Python version and processor (so the image is tagged as
:func:`framework_sdk.image_uris.retrieve` resolves it, and labelled) and lists the pip steps
that both the image and the process backend's environment (:mod:`framework_sdk.venvs`) run.
"""
from __future__ import annotations

import dataclasses
import sys
from importlib import resources
from pathlib import Path

from framework_sdk import image_uris
from framework_sdk.exceptions import SDKError

LABEL_PREFIX = "org.framework-sdk."


class ImageError(SDKError, RuntimeError):
    """An image cannot be built, found or made; the message says how to fix it."""


@dataclasses.dataclass(frozen=True)
class PipStep:
    """One ``pip install [args] -r requirements`` step of an image."""

    requirements: str
    args: tuple = ()
    needs: str | None = None  # a program the step needs (a process environment skips it without)

    def command(self, requirements_dir):
        return ["install", *self.args, "-r", f"{requirements_dir}/{self.requirements}"]


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """One image definition folder: what it holds and how it is named."""

    name: str
    folder: Path
    framework: str
    version: str
    python: str
    processor: str
    pip_steps: tuple
    fixed_tag: str | None = None  # image.toml's ``tag``, for an image that is no framework of image_uris

    @property
    def tag(self):
        if self.fixed_tag:
            return self.fixed_tag
        instance_type = "local_gpu" if self.processor == "gpu" else None
        return image_uris.retrieve(self.framework, self.version, instance_type=instance_type)

    @property
    def labels(self):
        import framework_sdk

        return {
            f"{LABEL_PREFIX}framework": self.framework,
            f"{LABEL_PREFIX}framework-version": self.version,
            f"{LABEL_PREFIX}python-version": self.python,
            f"{LABEL_PREFIX}processor": self.processor,
            f"{LABEL_PREFIX}toolkit-version": framework_sdk.__version__,
            # the model server honours SAGEMAKER_BIND_TO_PORT (SageMaker's own label for it)
            "com.amazonaws.sagemaker.capabilities.accept-bind-to-port": "true",
        }

    def requirement_files(self):
        return [self.folder / step.requirements for step in self.pip_steps]


def definitions_dir():
    """The folder holding the image definitions: this package's own, as installed."""
    folder = resources.files(__package__)
    if not isinstance(folder, Path):  # a zip import: docker and pip need real files
        raise ImageError(f"framework-sdk's image definitions are inside {folder}, not in a folder: "
                         f"install framework-sdk unpacked (as pip does) to build images or environments")
    return folder


def read_toml(path):
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
        data = read_toml(folder / "image.toml")
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
    """The image specs under ``folder`` (default: the shipped definitions), all or those ``names``d."""
    registered = not folder
    folder = Path(folder) if folder else definitions_dir()
    specs = {path.parent.name: load_spec(path.parent)
             for path in sorted(folder.glob("*/image.toml")) if (path.parent / "Dockerfile").is_file()}
    if registered:  # and those of frameworks other distributions register (IMAGE_DEFINITION)
        for name, path in registered_definitions().items():
            specs.setdefault(name, load_spec(path))
    if not names:
        return list(specs.values())
    unknown = [name for name in names if name not in specs]
    if unknown:
        raise ImageError(f"no image folder named {', '.join(unknown)} under {folder}; "
                         f"available: {', '.join(specs) or 'none'}")
    return [specs[name] for name in names]


def registered_definitions():
    """``{framework: folder}`` of the image definitions registered frameworks name outside this package."""
    from framework_sdk.container import frameworks

    own = definitions_dir()
    folders = {}
    for name in frameworks.names():
        folder = frameworks.image_definition(frameworks.load(name))
        if isinstance(folder, Path) and (folder / "image.toml").is_file() and folder.parent != own:
            folders[name] = folder
    return folders


def find_spec(framework, version, folder=None):
    """The spec of the image for ``framework`` ``version``; an error lists the ones we have."""
    specs = image_specs(folder=folder)
    for spec in specs:
        if spec.framework == framework and spec.version == str(version):
            return spec
    have = ", ".join(f"{spec.framework} {spec.version}" for spec in specs)
    raise ImageError(f"no image definition for {framework} {version}; available: {have}")
