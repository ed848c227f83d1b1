"""Reproducible sourcedir.tar.gz / model.tar.gz, job names, serializers and deserializers."""
import gzip
import io
import os
import tarfile
import time

import numpy as np
import pytest

from framework_sdk import codecs, naming
from framework_sdk.container.archives import UnsafeArchiveError
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.packaging import local_code_dir, pack_sourcedir, repack_model
from framework_sdk.serializers import (BytesDeserializer, CSVDeserializer, CSVSerializer, IdentitySerializer,
                                       JSONDeserializer, JSONLinesDeserializer, JSONLinesSerializer,
                                       JSONSerializer, NumpyDeserializer, NumpySerializer, StreamDeserializer,
                                       StringDeserializer)


def _tree(root, mtime):
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "train.py").write_text("print('hi')\n")
    (root / "requirements.txt").write_text("numpy\n")
    (root / "pkg" / "util.py").write_text("X = 1\n")
    (root / "pkg" / "__pycache__" / "util.cpython-311.pyc").write_bytes(os.urandom(16))
    (root / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "run.sh", 0o775)
    for path in root.rglob("*"):
        os.utime(path, (mtime, mtime))
    return root


def test_same_sources_give_the_same_bytes(tmp_path):
    first = _tree(tmp_path / "a" / "src", 1_000_000)
    second = _tree(tmp_path / "b" / "src", 2_000_000)
    dep = tmp_path / "lib"
    dep.mkdir()
    (dep / "helper.py").write_text("Y = 2\n")
    with pack_sourcedir("train.py", str(first), [str(dep)]) as one, \
            pack_sourcedir("train.py", str(second), [str(dep)]) as two:
        data = open(one.path, "rb").read()
        assert data == open(two.path, "rb").read() and one.sha256 == two.sha256
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names == ["lib", "lib/helper.py", "pkg", "pkg/util.py", "requirements.txt", "run.sh", "train.py"]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
    modes = {m.name: m.mode for m in members}
    assert modes["run.sh"] == 0o755 and modes["train.py"] == 0o644 and modes["pkg"] == 0o755
    assert data[4:8] == b"\0\0\0\0"  # gzip header MTIME
    assert gzip.decompress(data)  # a valid gzip stream


def test_changed_sources_change_the_digest(tmp_path):
    root = _tree(tmp_path / "src", 1)
    with pack_sourcedir("train.py", str(root)) as before:
        digest = before.sha256
    (root / "train.py").write_text("print('changed')\n")
    with pack_sourcedir("train.py", str(root)) as after:
        assert after.sha256 != digest


def test_entry_point_without_source_dir_and_dependency_clash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text("pass\n")
    with pack_sourcedir("train.py") as archive, tarfile.open(archive.path) as tar:
        assert tar.getnames() == ["train.py"]
    with pytest.raises(ConfigurationError, match="would overwrite 'train.py'"):
        pack_sourcedir("train.py", None, [_other_train(tmp_path)])
    with pytest.raises(ConfigurationError, match="does not exist"):
        pack_sourcedir("train.py", None, ["nope"])


def _other_train(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "train.py").write_text("different\n")
    return str(other / "train.py")


def _model_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_repack_model_adds_code_and_replaces_old_code(tmp_path):
    source = _tree(tmp_path / "src", 1)
    model = _model_tar(tmp_path / "model.tar.gz", {"model.npz": b"weights", "code/old.py": b"old"})
    with repack_model(str(model), "train.py", str(source)) as archive, tarfile.open(archive.path) as tar:
        names = tar.getnames()
        assert tar.extractfile("model.npz").read() == b"weights"
    assert "code/train.py" in names and "code/pkg/util.py" in names and "code/old.py" not in names


def test_repack_refuses_hostile_model_archives(tmp_path):
    source = _tree(tmp_path / "src", 1)
    model = _model_tar(tmp_path / "evil.tar.gz", {"../escape.txt": b"x"})
    with pytest.raises(UnsafeArchiveError):
        repack_model(str(model), "train.py", str(source))


def test_local_code_dir_uses_source_dir_in_place_or_stages_dependencies(tmp_path):
    source = _tree(tmp_path / "src", 1)
    assert local_code_dir("train.py", str(source)) == (str(source.resolve()), None)
    dep = tmp_path / "dep.py"
    dep.write_text("Z = 3\n")
    path, staging = local_code_dir("train.py", str(source), [str(dep)])
    try:
        assert sorted(os.listdir(path)) == ["dep.py", "pkg", "requirements.txt", "run.sh", "train.py"]
    finally:
        staging.cleanup()


# --------------------------------------------------------------------------- naming


def test_job_names_fit_sagemaker_rules():
    name = naming.name_from_base("x" * 100, now=0)
    assert len(name) == 63 and name.endswith("-1970-01-01-00-00-00-000")
    assert naming.validate(name)
    assert naming.name_from_base("my_job.v2", now=0).startswith("my-job-v2-")
    assert naming.base_name_from_image("1.dkr.ecr.us-west-2.amazonaws.com/framework-sdk-chainer:7.8.1-cpu-py3") == \
        "framework-sdk-chainer"
    assert naming.base_from_name(naming.name_from_base("toy", now=time.time())) == "toy"
    with pytest.raises(ConfigurationError):
        naming.validate("-bad")


# ------------------------------------------------------------- serializers


def _stream(data):
    return io.BytesIO(data)


def test_numpy_serializer_and_deserializer_roundtrip():
    array = np.asfortranarray(np.arange(12, dtype="int16").reshape(3, 4))
    body = NumpySerializer().serialize(array)
    np.testing.assert_array_equal(NumpyDeserializer().deserialize(_stream(bytes(body)), codecs.NPY), array)
    assert bytes(NumpySerializer(dtype="float32").serialize([1, 2]))[-8:] == np.array([1, 2], "float32").tobytes()
    np.testing.assert_array_equal(NumpyDeserializer().deserialize(_stream(b"[[1,2],[3,4]]"), codecs.JSON),
                                  [[1, 2], [3, 4]])
    np.testing.assert_array_equal(NumpyDeserializer(dtype="float32").deserialize(_stream(b"1,2\n3,4\n"), codecs.CSV),
                                  np.array([[1, 2], [3, 4]], "float32"))


def test_numpy_deserializer_never_unpickles():
    payload = io.BytesIO()
    np.save(payload, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(codecs.CodecError, match="refused"):
        NumpyDeserializer().deserialize(_stream(payload.getvalue()), codecs.NPY)
    with pytest.raises(ValueError, match="never unpickles"):
        NumpyDeserializer(allow_pickle=True)


def test_text_serializers():
    assert JSONSerializer().serialize({"x": np.arange(3)}) == b'{"x":[0,1,2]}'
    assert CSVSerializer().serialize([[1, 2], [3, 4.5]]) == b"1.0,2.0\n3.0,4.5\n"
    assert CSVSerializer().serialize("1,2") == b"1,2"
    assert JSONLinesSerializer().serialize([{"a": 1}, {"a": 2}]) == b'{"a":1}\n{"a":2}\n'
    assert IdentitySerializer().serialize(io.BytesIO(b"raw")) == b"raw"
    assert IdentitySerializer("image/png").content_type == "image/png"
    with pytest.raises(TypeError, match="IdentitySerializer"):
        IdentitySerializer().serialize({"a": 1})


def test_text_deserializers():
    assert JSONDeserializer().deserialize(_stream(b'{"a": 1}'), codecs.JSON) == {"a": 1}
    assert JSONLinesDeserializer().deserialize(_stream(b'1\n{"b": 2}\n'), codecs.JSONLINES) == [1, {"b": 2}]
    assert CSVDeserializer().deserialize(_stream(b"1,a\n2,b\n"), codecs.CSV) == [["1", "a"], ["2", "b"]]
    assert StringDeserializer().deserialize(_stream("é".encode()), "text/plain") == "é"
    assert BytesDeserializer().deserialize(_stream(b"\x00"), "application/octet-stream") == b"\x00"
    stream = _stream(b"x")
    assert StreamDeserializer().deserialize(stream, "a/b") == (stream, "a/b")
    assert NumpyDeserializer(accept=(codecs.NPY, codecs.JSON)).accept == (codecs.NPY, codecs.JSON)
    with pytest.raises(codecs.CodecError, match="malformed JSON"):
        JSONDeserializer().deserialize(_stream(b"{"), codecs.JSON)


def test_numpy_serializer_body_is_a_view_not_a_copy():
    from framework_sdk.serializers import ChunkedBody

    array = np.arange(10_000, dtype="float32").reshape(100, 100)
    body = NumpySerializer().serialize(array)
    assert isinstance(body, ChunkedBody)
    head, data = body.chunks()
    assert np.shares_memory(np.frombuffer(data, dtype="float32"), array)  # never joined into new bytes
    whole = bytes(body)
    assert len(body) == len(whole) and np.load(io.BytesIO(whole)).tolist() == array.tolist()
    assert body.read(7) == whole[:7] and body.read(100) == whole[7:107]  # across the header/data boundary
    body.seek(-5, io.SEEK_END)
    assert body.read() == whole[-5:] and body.tell() == len(whole)
    body.seek(0)
    assert b"".join(iter(lambda: body.read(4096), b"")) == whole
