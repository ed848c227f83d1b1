"""Safe extraction of tar archives (``sourcedir.tar.gz``, ``model.tar.gz``, code channels).

Every member is checked before anything is written, so a hostile archive leaves
nothing behind. Refused: absolute names, any ``..`` component, members written
through a link of the same archive, symbolic links that resolve outside the
destination, hard links to anything outside the archive, and device or FIFO files.
"""
import io
import os
import posixpath
import shutil
import tarfile
import tempfile
from pathlib import Path

from framework_sdk.container.errors import ToolkitError


class UnsafeArchiveError(ToolkitError, ValueError):
    """An archive member would escape the destination or create a special file."""

    def __init__(self, member, reason):
        self.member = member
        super().__init__(f"refusing to extract archive member {member!r}: {reason}")


def safe_extract(archive, dest):
    """Extract the tar archive ``archive`` (a path or a binary file object; gzip or not) into ``dest``.

    Returns ``dest`` as a :class:`pathlib.Path`. Raises :class:`UnsafeArchiveError` naming the
    first unsafe member (and extracts nothing), or ``tarfile.ReadError`` when it is not a tar archive.
    """
    dest = Path(dest)
    with _open(archive) as tar:
        members = tar.getmembers()
        check_members(members)
        dest.mkdir(parents=True, exist_ok=True)
        if hasattr(tarfile, "data_filter"):  # 3.12+ / 3.11.4+: the standard library checks again
            tar.extractall(dest, members, filter="data")
        else:  # pragma: no cover - older interpreters rely on check_members alone
            tar.extractall(dest, members)
    return dest


def check_members(members):
    """Raise :class:`UnsafeArchiveError` for the first member of ``members`` that is unsafe to extract."""
    links = set()
    for member in members:
        name = _checked_name(member.name, member.name)
        through = next((link for link in links if name.startswith(link + "/")), None)
        if through is not None:
            raise UnsafeArchiveError(member.name, f"it would be written through the link {through!r}")
        if member.ischr() or member.isblk() or member.isfifo():
            raise UnsafeArchiveError(member.name, "device and FIFO files are not allowed")
        if member.issym():
            _check_symlink(member, name)
            links.add(name)
        elif member.islnk():
            target = _checked_name(member.name, member.linkname, "hard link target ")
            if any(target == link or target.startswith(link + "/") for link in links):
                raise UnsafeArchiveError(member.name, f"its hard link target {member.linkname!r} goes through a link")
            links.add(name)


def _checked_name(member_name, name, what=""):
    if not name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(member_name, f"{what}absolute path {name!r}")
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(member_name, f"{what}{name!r} contains '..'")
    return "/".join(parts)


def _check_symlink(member, name):
    target = member.linkname
    if not target or target.startswith("/"):
        raise UnsafeArchiveError(member.name, f"symbolic link to absolute path {target!r}")
    parts = [part for part in target.split("/") if part not in ("", ".")]
    leading = 0
    while leading < len(parts) and parts[leading] == "..":
        leading += 1
    if ".." in parts[leading:]:
        raise UnsafeArchiveError(member.name, f"symbolic link target {target!r} has '..' after a folder name")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchiveError(member.name, f"symbolic link to {target!r} points outside the destination")


def _open(archive):
    if isinstance(archive, (str, os.PathLike)):
        return tarfile.open(archive, mode="r:*")
    if not _seekable(archive):
        spooled = tempfile.SpooledTemporaryFile(max_size=64 << 20)
        shutil.copyfileobj(archive, spooled)
        spooled.seek(0)
        archive = spooled
    return tarfile.open(fileobj=archive, mode="r:*")


def _seekable(stream):
    try:
        return stream.seekable()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        return False
