"""Reproducible code archives: ``sourcedir.tar.gz`` for training, ``model.tar.gz`` with ``code/`` for serving.

The same sources always give the same bytes: entries are sorted, every entry has mtime 0,
owner 0:0 with empty user and group names, modes are normalised to 0644 / 0755, and the
gzip header carries no name or time. ``__pycache__`` folders and ``*.pyc`` files are left
out (they change on every import). So the SHA-256 of an archive identifies its sources,
which lets :meth:`Session.upload_if_changed` skip an upload whose object already exists.

Extraction (for repacking a model) goes through
:func:`framework_sdk.container.archives.safe_extract`, which refuses hostile members.
"""
import gzip
import hashlib
import io
import os
import stat
import tarfile
import tempfile
from pathlib import Path

from . import contract
from .container.archives import UnsafeArchiveError, safe_extract
from .exceptions import ConfigurationError, SDKError

SOURCEDIR = contract.SOURCE_ARCHIVE
MODEL = contract.MODEL_ARCHIVE
CODE_DIR = contract.INFERENCE_CODE_DIR
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


class ModelArchiveError(SDKError, UnsafeArchiveError):
    """A ``model.tar.gz`` to repack holds a member that would escape its folder or create a special file."""

    def __init__(self, error):
        ValueError.__init__(self, f"the model archive cannot be repacked with its inference code: {error}")
        self.member = error.member


def resolve_entry_point(entry_point, source_dir=None):
    """Check that ``entry_point`` exists (inside ``source_dir`` when given) and return its name there.

    With ``source_dir`` the result is the path relative to it (``train.py`` or ``sub/train.py``);
    without, the file's base name. Raises :class:`ConfigurationError` before anything is packed.
    """
    if not entry_point or not isinstance(entry_point, str):
        raise ConfigurationError("entry_point is required: the path of the script to run, e.g. 'train.py'")
    if source_dir is None:
        path = Path(entry_point)
        if not path.is_file():
            raise ConfigurationError(
                f"entry_point {entry_point!r} is not a file (looked in {Path.cwd()}); pass the path of "
                f"your script, or source_dir= and entry_point relative to it")
        return path.name
    if isinstance(source_dir, str) and source_dir.startswith("s3://"):
        return entry_point  # the code is already in S3; the container checks it
    root = Path(source_dir)
    if not root.is_dir():
        raise ConfigurationError(f"source_dir {str(source_dir)!r} is not a directory")
    root = root.resolve()
    candidate = Path(entry_point)
    candidate = (candidate if candidate.is_absolute() else root / candidate).resolve()
    try:
        relative = candidate.relative_to(root)
    except ValueError:
        raise ConfigurationError(
            f"entry_point {entry_point!r} is outside source_dir {str(source_dir)!r}; only source_dir is "
            f"shipped, so move the script into it and pass its path relative to source_dir") from None
    if not candidate.is_file():
        raise ConfigurationError(f"entry_point {entry_point!r} does not exist in source_dir {str(source_dir)!r}")
    return relative.as_posix()


def check_dependencies(dependencies):
    """Raise :class:`ConfigurationError` naming the first of ``dependencies`` that is no file or folder."""
    for dependency in dependencies or ():
        if not isinstance(dependency, (str, os.PathLike)) or not Path(dependency).exists():
            raise ConfigurationError(
                f"dependency {dependency!r} does not exist (looked in {Path.cwd()}); dependencies are "
                f"local files or folders shipped beside the entry point: fix the path or drop it")


def _walk(root):
    """Yield ``(relative posix path, absolute path)`` for every file under ``root``, sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in files:
            if name.endswith(_SKIP_SUFFIXES):
                continue
            path = os.path.join(folder, name)
            if os.path.isfile(path):  # skips broken links, sockets and the like
                found.append((Path(path).relative_to(root).as_posix(), path))
    return sorted(found)


def sourcedir_entries(entry_point, source_dir=None, dependencies=()):
    """The ``(archive name, local path)`` pairs of a ``sourcedir.tar.gz``.

    ``source_dir``'s contents (with its ``requirements.txt``) go at the root, or just the entry
    point when there is no ``source_dir``; each dependency (file or folder) goes at the root
    under its own name, as SageMaker does.
    """
    entries = {}

    def add(name, path, origin):
        if name in entries and entries[name] != path:
            raise ConfigurationError(
                f"{origin} would overwrite {name!r} in the source archive; rename one of them")
        entries[name] = path

    if source_dir is None:
        add(Path(entry_point).name, str(Path(entry_point).resolve()), "entry_point")
    else:
        for name, path in _walk(Path(source_dir).resolve()):
            add(name, path, "source_dir")
    check_dependencies(dependencies)
    for dependency in dependencies or ():
        dep = Path(dependency).resolve()
        if dep.is_dir():
            for name, path in _walk(dep):
                add(f"{dep.name}/{name}", path, f"dependency {str(dependency)!r}")
        else:
            add(dep.name, str(dep), f"dependency {str(dependency)!r}")
    return sorted(entries.items())


def _dirs_of(names):
    dirs = set()
    for name in names:
        parts = name.split("/")[:-1]
        for end in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:end]))
    return dirs


def _info(name, mode, size=0, kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_tar_gz(entries, fileobj):
    """Write ``(archive name, local path)`` pairs as a reproducible ``.tar.gz`` to ``fileobj``."""
    entries = sorted(entries)
    members = sorted([(name + "/", None) for name in _dirs_of(n for n, _ in entries)] + entries)
    with gzip.GzipFile(filename="", mode="wb", fileobj=fileobj, mtime=0, compresslevel=6) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, path in members:
                if path is None:
                    tar.addfile(_info(name.rstrip("/"), 0o755, kind=tarfile.DIRTYPE))
                    continue
                st = os.stat(path)
                mode = 0o755 if st.st_mode & stat.S_IXUSR else 0o644
                with open(path, "rb") as source:
                    tar.addfile(_info(name, mode, st.st_size), source)


class Archive:
    """A packed archive on disk: ``path`` and its ``sha256`` hex digest. Remove it with :meth:`cleanup`."""

    def __init__(self, path, sha256, tmpdir=None):
        self.path = path
        self.sha256 = sha256
        self._tmpdir = tmpdir

    def cleanup(self):
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


class _HashingWriter(io.RawIOBase):
    def __init__(self, target):
        self.target = target
        self.digest = hashlib.sha256()

    def writable(self):
        return True

    def write(self, data):
        self.digest.update(data)
        return self.target.write(data)


def pack(entries, name):
    """Pack ``entries`` reproducibly into a temporary ``name``; returns an :class:`Archive`."""
    tmpdir = tempfile.TemporaryDirectory(prefix="framework-sdk-pack-")
    path = os.path.join(tmpdir.name, name)
    with open(path, "wb") as out:
        writer = _HashingWriter(out)
        write_tar_gz(entries, writer)
    return Archive(path, writer.digest.hexdigest(), tmpdir)


def pack_sourcedir(entry_point, source_dir=None, dependencies=()):
    """Pack the training code into a reproducible ``sourcedir.tar.gz`` (an :class:`Archive`)."""
    resolve_entry_point(entry_point, source_dir)
    return pack(sourcedir_entries(entry_point, source_dir, dependencies), SOURCEDIR)


def local_code_dir(entry_point, source_dir=None, dependencies=()):
    """The folder local mode runs code from: ``(path, staging)``.

    ``source_dir`` itself (or the entry point's folder) when there are no dependencies;
    otherwise a staging copy of what ``sourcedir.tar.gz`` would hold, kept alive by the returned
    ``TemporaryDirectory`` (``None`` when no copy was made).
    """
    import shutil

    resolve_entry_point(entry_point, source_dir)
    if not dependencies:
        return os.path.abspath(source_dir or os.path.dirname(os.path.abspath(entry_point))), None
    staging = tempfile.TemporaryDirectory(prefix="framework-sdk-code-")
    for name, path in sourcedir_entries(entry_point, source_dir, dependencies):
        target = os.path.join(staging.name, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(path, target)
    return staging.name, staging


def repack_model(model_archive, entry_point, source_dir=None, dependencies=()):
    """A new ``model.tar.gz`` holding ``model_archive``'s files plus the inference code under ``code/``.

    ``model_archive`` is a path or binary file of the trained ``model.tar.gz``, extracted with
    ``safe_extract`` (a hostile archive is refused with :class:`ModelArchiveError`). Any ``code/`` it had is
    replaced.
    """
    resolve_entry_point(entry_point, source_dir)
    code = sourcedir_entries(entry_point, source_dir, dependencies)
    with tempfile.TemporaryDirectory(prefix="framework-sdk-model-") as scratch:
        try:
            safe_extract(model_archive, scratch)
        except UnsafeArchiveError as error:
            raise ModelArchiveError(error) from None
        model_files = [(name, path) for name, path in _walk(scratch)
                       if not (name == CODE_DIR or name.startswith(CODE_DIR + "/"))]
        entries = model_files + [(f"{CODE_DIR}/{name}", path) for name, path in code]
        return pack(entries, MODEL)
