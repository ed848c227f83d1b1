"""safe_extract: good archives extract, hostile ones are refused before anything is written."""
import io
import tarfile

import pytest

from framework_sdk.container.archives import UnsafeArchiveError, safe_extract


def tar_bytes(*members, gz=True):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gz else "w") as tar:
        for kind, name, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, payload
                tar.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, payload
                tar.addfile(info)
            elif kind == "chr":
                info.type = tarfile.CHRTYPE
                tar.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                tar.addfile(info)
    return buffer.getvalue()


def test_extracts_files_folders_and_inner_links(tmp_path):
    data = tar_bytes(("dir", "pkg", None), ("file", "pkg/__init__.py", b"X = 1\n"),
                     ("file", "train.py", b"print(1)\n"), ("sym", "pkg/alias.py", "__init__.py"),
                     ("sym", "pkg/up.py", "../train.py"), ("hard", "copy.py", "train.py"))
    dest = safe_extract(io.BytesIO(data), tmp_path / "out")
    assert (dest / "pkg" / "__init__.py").read_text() == "X = 1\n"
    assert (dest / "pkg" / "alias.py").read_text() == "X = 1\n"
    assert (dest / "pkg" / "up.py").read_text() == "print(1)\n"
    assert (dest / "copy.py").read_text() == "print(1)\n"


def test_path_and_plain_tar(tmp_path):
    archive = tmp_path / "a.tar"
    archive.write_bytes(tar_bytes(("file", "./a.txt", b"a"), gz=False))
    assert (safe_extract(archive, tmp_path / "out") / "a.txt").read_bytes() == b"a"


class Unseekable(io.RawIOBase):
    def __init__(self, data):
        self.inner = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        return self.inner.readinto(buffer)


def test_unseekable_stream(tmp_path):
    stream = io.BufferedReader(Unseekable(tar_bytes(("file", "a.txt", b"a"))))
    assert (safe_extract(stream, tmp_path / "out") / "a.txt").read_bytes() == b"a"


@pytest.mark.parametrize("member, reason", [
    (("file", "../evil.py", b"x"), "contains '..'"),
    (("file", "ok/../../evil.py", b"x"), "contains '..'"),
    (("file", "/etc/evil", b"x"), "absolute path"),
    (("sym", "link", "/etc/passwd"), "absolute path"),
    (("sym", "link", "../outside"), "points outside"),
    (("sym", "a/link", "../../outside"), "points outside"),
    (("sym", "a/link", "b/../.."), "after a folder name"),
    (("hard", "link", "../outside"), "contains '..'"),
    (("hard", "link", "/etc/passwd"), "absolute path"),
    (("chr", "dev", None), "device"),
    (("fifo", "pipe", None), "FIFO"),
])
def test_hostile_members_are_refused(tmp_path, member, reason):
    data = tar_bytes(("file", "good.py", b"fine"), member)
    with pytest.raises(UnsafeArchiveError, match=reason) as caught:
        safe_extract(io.BytesIO(data), tmp_path / "out")
    assert member[1] in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert not (tmp_path / "out").exists(), "nothing is extracted from a hostile archive"


def test_writing_through_an_inner_link_is_refused(tmp_path):
    data = tar_bytes(("sym", "a/b", "."), ("sym", "a/b/l", "../x"), ("file", "a/b/l/f", b"x"))
    with pytest.raises(UnsafeArchiveError, match="through the link 'a/b'"):
        safe_extract(io.BytesIO(data), tmp_path / "out")


def test_not_an_archive(tmp_path):
    with pytest.raises(tarfile.ReadError):
        safe_extract(io.BytesIO(b"not a tar file at all" * 40), tmp_path / "out")
