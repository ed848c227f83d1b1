"""Bring-your-own images without Docker: the folder an image is built from, run as processes.

The process backend cannot run an image, but it can run the folder the image is built
from: its ``train`` and ``serve`` programs, in a cached virtual environment holding what the
image's ``pip install`` steps install. An image name resolves to a folder in two ways:

- the name *is* the folder: a path or ``file://`` URI of a folder with a ``Dockerfile``
  (``Estimator("file:///src/decision-trees", ...)``);
- the name is the ``tag`` in the ``image.toml`` of a registered folder
  (``LocalSession(image_folders=[...])`` or ``"image_folders"`` in the user config file);
  a name without a tag means ``:latest``, as Docker reads it.

``image.toml`` (every key optional; Docker ignores the file)::

    tag = "decision-trees:latest"   # the image name this folder stands for
    python = "3.11"                 # the Python the environment is made with (default: this one)
    [[pip]]                         # default: one step for requirements.txt, when there is one
    requirements = "requirements.txt"
    [programs]                      # default: the folder the Dockerfile COPYs that holds them
    train = "program/train"
    serve = "program/serve"
    [environment]                   # what the Dockerfile sets with ENV, for the processes
    MODEL_NAME = "tree"

The programs must honour ``SAGEMAKER_BASE_DIR`` (default ``/opt/ml``) and, for ``serve``,
``SAGEMAKER_BIND_TO_PORT`` (default 8080), since each host gets its own tree and port.
"""
import dataclasses
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

from framework_sdk import contract
from framework_sdk.local.errors import LocalModeError
from framework_sdk.local.storage import is_file_uri, local_path

ROLES = contract.COMMANDS
DESCRIPTION = "image.toml"


@dataclasses.dataclass(frozen=True)
class ImageFolder:
    """A bring-your-own image folder as the process backend runs it."""

    folder: Path
    tag: "str | None" = None
    python: "str | None" = None        # "3.11"; None: the Python running this SDK
    pip_steps: tuple = ()              # framework_sdk.images.PipStep
    programs: dict = dataclasses.field(default_factory=dict)  # role -> program file
    environment: dict = dataclasses.field(default_factory=dict)
    workdir: "Path | None" = None      # the program folder when the Dockerfile's WORKDIR is where it goes

    @property
    def name(self):
        return self.folder.name

    def interpreter(self):
        """The Python the environment is created with: ``python`` of image.toml, found on PATH."""
        if not self.python or self.python == f"{sys.version_info[0]}.{sys.version_info[1]}":
            return sys.executable
        found = shutil.which(f"python{self.python}")
        if not found:
            raise LocalModeError(
                f"{self.folder / DESCRIPTION} asks for Python {self.python}, and this machine has no "
                f"python{self.python} on PATH: install it, or change `python` there (this SDK runs "
                f"{sys.version_info[0]}.{sys.version_info[1]})")
        return found

    def command(self, role):
        """The argv that runs the ``role`` program, as ``docker run IMAGE role`` would."""
        program = self.programs.get(role)
        if program is None:
            raise LocalModeError(
                f"image folder {self.folder} has no `{role}` program: the process backend looks for it in "
                f"the folders its Dockerfile COPYs; name it in {DESCRIPTION} "
                f"([programs] {role} = \"path/to/{role}\")")
        interpreter = _shebang(program)
        if interpreter and os.path.isabs(interpreter[0]) and not os.path.exists(interpreter[0]):
            raise LocalModeError(
                f"{program} starts with #!{' '.join(interpreter)}, which does not exist on this machine: "
                f"start it with #!/usr/bin/env python3 (or sh, ...), which finds the image's environment "
                f"first on PATH both in the image and on the process backend")
        if os.access(program, os.X_OK):
            return [str(program)]
        if interpreter:
            return [*interpreter, str(program)]
        raise LocalModeError(f"{program} is not executable and has no #! line: chmod +x it")


def _shebang(program):
    with open(program, "rb") as file:
        first = file.readline(256)
    if not first.startswith(b"#!"):
        return None
    return first[2:].decode("utf-8", "replace").split() or None


def folder_named_by(image):
    """The folder ``image`` names itself (``file://...`` or an existing path), else ``None``."""
    if is_file_uri(image):
        path = local_path(image)
    elif image.startswith((".", "/", "~")) or os.sep in image:
        path = Path(image).expanduser()
        if not path.is_dir():
            return None
    else:
        return None
    if not path.is_dir():
        raise LocalModeError(f"image {image!r} names {path}, which is not a folder on this machine")
    if not (path / "Dockerfile").is_file():
        raise LocalModeError(f"image {image!r} names {path}, which has no Dockerfile: the process backend "
                             f"runs a bring-your-own image from the folder it is built from")
    return path.resolve()


def normalize(tag):
    """``'decision-trees'`` -> ``'decision-trees:latest'`` (Docker's default tag)."""
    last = tag.rpartition("/")[2]
    return tag if ":" in last or "@" in last else f"{tag}:latest"


def resolve(image, folders=()):
    """The :class:`ImageFolder` standing for ``image``, or ``None`` when nothing claims it."""
    named = folder_named_by(image)
    if named is not None:
        return load(named)
    wanted = normalize(image)
    for folder in folders:
        candidate = load(folder)
        if candidate.tag and normalize(candidate.tag) == wanted:
            return candidate
    return None


def registered_tags(folders):
    """``{tag: folder}`` of the registered folders (for error messages)."""
    tags = {}
    for folder in folders:
        try:
            candidate = load(folder)
        except LocalModeError:
            continue
        if candidate.tag:
            tags[normalize(candidate.tag)] = candidate.folder
    return tags


def load(folder):
    """Read an image folder: ``image.toml`` where present, the rest found from the ``Dockerfile``."""
    from framework_sdk.images import PipStep

    folder = Path(folder).expanduser().resolve()
    if not (folder / "Dockerfile").is_file():
        raise LocalModeError(f"image folder {folder} has no Dockerfile (registered in image_folders, or "
                             f"named as the image)")
    data = _read_description(folder)
    try:
        steps = tuple(PipStep(step["requirements"], tuple(step.get("args", ())), step.get("needs"))
                      for step in data.get("pip", ()))
    except (KeyError, TypeError, AttributeError) as error:
        raise LocalModeError(f"{folder / DESCRIPTION}: each [[pip]] entry needs `requirements` "
                             f"(a file in the folder) and may have `args` and `needs` ({error!r})") from None
    if "pip" not in data and (folder / "requirements.txt").is_file():
        steps = (PipStep("requirements.txt"),)
    missing = [step.requirements for step in steps if not (folder / step.requirements).is_file()]
    if missing:
        raise LocalModeError(f"{folder / DESCRIPTION} names requirement files that are not in {folder}: {missing}")
    copies, workdir = parse_dockerfile(folder / "Dockerfile")
    programs, program_dirs = {}, {}
    for sources, destination in copies:
        for source in sources:
            pattern = source.strip("/")
            for path in sorted(folder.glob(pattern)) if pattern not in ("", ".") else [folder]:
                for role in ROLES:
                    candidate = path / role if path.is_dir() else path
                    if candidate.name == role and candidate.is_file():
                        programs.setdefault(role, candidate)
                        program_dirs.setdefault(destination.rstrip("/") or "/", candidate.parent)
    declared = data.get("programs", {})
    for role, relative in declared.items():
        if role not in ROLES:
            raise LocalModeError(f"{folder / DESCRIPTION}: [programs] knows train and serve, not {role!r}")
        path = folder / relative
        if not path.is_file():
            raise LocalModeError(f"{folder / DESCRIPTION}: [programs] {role} = {relative!r} is not a file in {folder}")
        programs[role] = path
    environment = {str(key): str(value) for key, value in data.get("environment", {}).items()}
    return ImageFolder(folder=folder, tag=data.get("tag"), python=str(data["python"]) if "python" in data else None,
                       pip_steps=steps, programs=programs, environment=environment,
                       workdir=program_dirs.get((workdir or "").rstrip("/") or None))


def _read_description(folder):
    path = folder / DESCRIPTION
    if not path.is_file():
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib

    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except ValueError as error:
        raise LocalModeError(f"{path} is not valid TOML: {error}") from None


def parse_dockerfile(path):
    """``([(sources, destination), ...] of COPY/ADD from the build context, last WORKDIR)``."""
    copies, workdir, pending = [], None, ""
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction in ("COPY", "ADD"):
            arguments = _arguments(rest)
            if any(argument.startswith("--from") for argument in arguments):
                continue  # from another stage or image, not from this folder
            arguments = [argument for argument in arguments if not argument.startswith("--")]
            if len(arguments) >= 2:
                copies.append((arguments[:-1], arguments[-1]))
        elif instruction == "WORKDIR":
            workdir = rest.strip()
    return copies, workdir


def _arguments(text):
    text = text.strip()
    flags = []
    while text.startswith("--"):
        flag, _, text = text.partition(" ")
        flags.append(flag)
        text = text.strip()
    if text.startswith("["):
        try:
            return flags + [str(item) for item in json.loads(text)]
        except ValueError:
            pass
    return flags + shlex.split(text)
