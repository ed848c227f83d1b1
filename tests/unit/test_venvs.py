"""Process-backend environments: cache location, keys, reuse and errors (no network)."""
import json
import sys
from pathlib import Path

import pytest

from framework_sdk import images, venvs


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(venvs.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cache_dir_follows_env_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv(venvs.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert venvs.cache_dir() == tmp_path / "xdg" / "framework-sdk"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert venvs.cache_dir() == tmp_path / "home" / ".cache" / "framework-sdk"
    monkeypatch.setenv(venvs.CACHE_ENV, str(tmp_path / "mine"))
    assert venvs.cache_dir() == tmp_path / "mine"


def test_environment_key_hashes_the_requirement_files_and_mpi(tmp_path):
    folder = tmp_path / "chainer"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "requirements.txt").write_text("chainer==7.8.1\n")
    (folder / "image.toml").write_text('framework = "chainer"\nversion = "7.8.1"\npython = "3.11"\n'
                                       '[[pip]]\nrequirements = "requirements.txt"\n')
    spec = images.load_spec(folder)
    key = venvs.environment_key(spec, with_mpi=True)
    assert key == venvs.environment_key(images.load_spec(folder), with_mpi=True)
    assert len(key) == 16
    assert venvs.environment_key(spec, with_mpi=False) != key
    (folder / "requirements.txt").write_text("chainer==7.8.1\nsix\n")
    assert venvs.environment_key(spec, with_mpi=True) != key


def test_a_finished_environment_is_reused_without_building(cache, monkeypatch):
    spec = images.find_spec("chainer", "7.8.1")
    with_mpi = all(venvs.shutil.which(step.needs) for step in spec.pip_steps if step.needs)
    root = cache / "venvs" / f"chainer-7.8.1-{venvs.environment_key(spec, with_mpi)}"
    root.mkdir(parents=True)
    (root / venvs.COMPLETE).write_text("{}")
    monkeypatch.setattr(venvs, "_build_environment", lambda *a: pytest.fail("rebuilt a finished environment"))
    assert venvs.framework_python("chainer", "7.8.1") == venvs.python_in(root)


def test_an_unfinished_environment_is_rebuilt_and_a_failure_shows_the_step(cache, monkeypatch):
    spec = images.find_spec("python", "3.11")
    root = cache / "venvs" / f"python-3.11-{venvs.environment_key(spec, True)}"
    (root / "leftover").mkdir(parents=True)  # no .complete marker: a build that died

    def failing_build(spec, root):
        assert not (root / "leftover").exists()
        root.mkdir(parents=True)
        venvs._run([sys.executable, "-c", "import sys; print('resolver says no'); sys.exit(3)"], root, "install requirements.txt")

    monkeypatch.setattr(venvs, "_build_environment", failing_build)
    with pytest.raises(venvs.BuildError, match=r"(?s)could not install requirements.txt.*exited 3.*resolver says no"):
        venvs.framework_python("python", "3.11")
    assert not (root / venvs.COMPLETE).exists()
    assert "resolver says no" in (root / "build.log").read_text()


def test_unknown_framework_lists_the_environments_we_can_build(cache):
    with pytest.raises(images.ImageError, match=r"no image definition for chainer 6\.0; available: .*chainer 7\.8\.1"):
        venvs.framework_python("chainer", "6.0")


def test_user_layer_reuses_a_finished_layer(cache, tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six\n")
    python = tmp_path / "env" / "bin" / "python"
    monkeypatch.setattr(venvs, "_build_layer", lambda *a: Path(a[3], "venv").mkdir())
    first = venvs.user_layer(python, requirements)
    assert first == venvs.python_in(next(cache.glob("layers/*/venv")))
    assert json.loads(next(cache.glob("layers/*/.complete")).read_text())["python"] == str(python)
    monkeypatch.setattr(venvs, "_build_layer", lambda *a: pytest.fail("reinstalled the same requirements"))
    assert venvs.user_layer(python, requirements) == first
    requirements.write_text("six\ntabulate\n")
    with pytest.raises(pytest.fail.Exception):
        venvs.user_layer(python, requirements)


def test_toolkit_source_is_this_checkout():
    assert venvs.toolkit_source() == Path(images.__file__).resolve().parents[1]
    assert (venvs.toolkit_source() / "framework_sdk" / "container" / "__main__.py").is_file()


def test_prune_removes_environments_of_deleted_checkouts_and_their_layers(cache, tmp_path):
    def make(kind, name, **marker):
        folder = cache / kind / name
        (folder / "bin").mkdir(parents=True)
        (folder / venvs.COMPLETE).write_text(json.dumps(marker))
        return folder

    live_source = tmp_path / "checkout" / "src"
    live_source.mkdir(parents=True)
    live = make("venvs", "chainer-7.8.1-live", toolkit_source=str(live_source))
    stale = make("venvs", "chainer-7.8.1-stale", toolkit_source=str(tmp_path / "deleted-clone" / "src"))
    live_layer = make("layers", "a", python=str(venvs.python_in(live)))
    stale_layer = make("layers", "b", python=str(venvs.python_in(stale)))
    assert sorted(venvs.prune()) == sorted([stale, stale_layer])
    assert live.is_dir() and live_layer.is_dir() and not stale.exists() and not stale_layer.exists()
