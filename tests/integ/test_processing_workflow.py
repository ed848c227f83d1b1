"""The workflow of issue 16 on both local backends: preprocess (ScriptProcessor, 2 instances, ShardedByS3Key)
-> train (Chainer) -> evaluate (ChainerProcessor on model.tar.gz), as examples/processing_workflow runs it."""
import os
import sys
from pathlib import Path

import pytest

from framework_sdk import LocalSession

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "processing_workflow"
sys.path.insert(0, str(EXAMPLE))
import workflow  # noqa: E402  (examples/processing_workflow/workflow.py)


@pytest.fixture
def work(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    import tempfile

    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return tmp_path


@pytest.mark.parametrize("backend", ["process", pytest.param("docker", marks=pytest.mark.docker)])
def test_preprocess_train_evaluate(backend, work, request, capsys):
    if backend == "docker":
        images = {request.getfixturevalue(name) for name in ("python_image", "chainer_image")}
        assert images == {workflow.PYTHON_IMAGE, "framework-sdk-chainer:7.8.1-cpu-py3"}
    else:
        from framework_sdk import venvs

        venvs.framework_python("chainer", "7.8.1")  # built (or found) before anything is timed
    raw = workflow.write_raw_shards(str(work / "raw"))
    session = LocalSession(backend=backend)
    try:
        evaluation = workflow.run(session, f"file://{raw}", f"file://{work}/out")
    finally:
        session.close()
    out = capsys.readouterr().out
    assert "algo-1 | algo-1: 3 shards, 180 rows -> train and test" in out  # each instance its share
    assert "algo-2 | algo-2: 3 shards, 180 rows -> train and test" in out
    assert sorted(os.listdir(work / "out" / "train")) == sorted(
        f"algo-{1 + shard % 2}-raw-{shard}.csv" for shard in range(6))
    assert evaluation["test_rows"] == 72 and evaluation["accuracy"] > 0.85
    assert [p.name for p in (work / "tmp").iterdir() if p.name.startswith("framework-sdk-local-")] == []
