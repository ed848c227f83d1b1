"""Process-backend environments: cache location, keys, reuse and errors (no network)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import framework_sdk
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


def finished(root, **marker):
    """Mark ``root`` as a finished environment or layer (what a build leaves behind)."""
    root.mkdir(parents=True)
    (root / venvs.COMPLETE).write_text(json.dumps(marker))
    return root


def chainer_environment(cache):
    spec = images.find_spec("chainer", "7.8.1")
    with_mpi, _ = venvs.mpi_status(spec)
    return cache / "venvs" / f"chainer-7.8.1-{venvs.environment_key(spec, with_mpi)}"


def test_a_finished_environment_is_reused_without_building(cache, monkeypatch):
    root = finished(chainer_environment(cache))
    layer = finished(root / f"toolkit-{images.Toolkit.installed().digest()[:16]}")
    monkeypatch.setattr(venvs, "_build_environment", lambda *a: pytest.fail("rebuilt a finished environment"))
    monkeypatch.setattr(venvs, "_build_toolkit_layer", lambda *a: pytest.fail("rebuilt a finished layer"))
    assert venvs.framework_python("chainer", "7.8.1") == venvs.python_in(layer)


def test_the_toolkit_is_a_layer_on_the_environment_made_without_rebuilding_it(cache, monkeypatch, tmp_path):
    root = chainer_environment(cache)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    (venvs._site_packages(venvs.python_in(root)) / "from_the_environment.py").write_text("VALUE = 'base'\n")
    (root / venvs.COMPLETE).write_text("{}")
    monkeypatch.setattr(venvs, "_build_environment", lambda *a: pytest.fail("rebuilt a finished environment"))

    python = venvs.framework_python("chainer", "7.8.1")
    layer = python.parents[1]
    assert layer.parent == root and layer.name == f"toolkit-{images.Toolkit.installed().digest()[:16]}"
    probe = ("import framework_sdk, from_the_environment, importlib.metadata as m;"
             "print(framework_sdk.__file__); print(framework_sdk.__version__, m.version('framework-sdk'));"
             "print(from_the_environment.VALUE)")
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout.split("\n")
    assert Path(out[0]).is_relative_to(layer)  # the toolkit is the layer's copy, not this checkout
    assert out[1] == f"{framework_sdk.__version__} {framework_sdk.__version__}"
    assert out[2] == "base"  # the environment's packages are seen through the layer's .pth
    assert Path(out[0]).read_bytes() == Path(framework_sdk.__file__).read_bytes()


def test_the_log_says_which_environment_and_whether_with_mpi(cache, monkeypatch, caplog):
    monkeypatch.setattr(venvs, "_build_environment", lambda spec, root: root.mkdir(parents=True))
    monkeypatch.setattr(venvs, "_build_toolkit_layer", lambda python, toolkit, layer: layer.mkdir(parents=True))
    monkeypatch.setattr(venvs, "prune", list)
    caplog.set_level("INFO", logger="framework_sdk.venvs")
    monkeypatch.setattr(venvs.shutil, "which", lambda name: f"/opt/mpi/bin/{name}")
    with_mpi = venvs.framework_python("chainer", "7.8.1")
    assert "using the chainer 7.8.1 environment" in caplog.text
    assert "(with MPI: mpicc found at /opt/mpi/bin/mpicc)" in caplog.text
    caplog.clear()
    monkeypatch.setattr(venvs.shutil, "which", lambda name: None)
    without_mpi = venvs.framework_python("chainer", "7.8.1")
    assert "(without MPI: no mpicc on PATH)" in caplog.text
    assert with_mpi.parents[2] != without_mpi.parents[2]  # two environments


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


def test_two_installs_of_the_same_content_share_one_environment(tmp_path):
    """Two clones (or a checkout and a wheel install) at different paths: one environment, one layer."""
    package = images.Toolkit.installed().package_dir
    toolkits, keys = [], []
    for place in ("clone-a/src", "venv-b/lib/python3/site-packages"):
        copy = tmp_path / place / "framework_sdk"
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
        installed = images.Toolkit.installed()
        toolkit = images.Toolkit(installed.version, installed.requirements, installed.entry_points, copy)
        spec = images.load_spec(copy / "images" / "chainer")
        toolkits.append(toolkit)
        keys.append(venvs.environment_key(spec, True, toolkit.requirements_text()))
    assert keys[0] == keys[1] and toolkits[0].digest() == toolkits[1].digest()
    assert toolkits[0].package_dir != toolkits[1].package_dir
    (toolkits[1].package_dir / "estimator.py").write_text("# an edit\n", encoding="utf-8")
    assert toolkits[0].digest() != toolkits[1].digest()  # a new toolkit layer, on the same environment
    requirements = ["numpy>=2"] + list(toolkits[0].requirements[1:])
    assert venvs.environment_key(spec, True, "".join(f"{line}\n" for line in requirements)) != keys[0]


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


def test_prune_removes_what_no_job_used_for_long(cache, monkeypatch):
    import os
    import time

    now = time.time()

    def aged(folder, days):
        for name in (venvs.COMPLETE, venvs.LAST_USED):
            path = folder / name
            path.touch()
            os.utime(path, (now - days * 86400, now - days * 86400))
        return folder

    fresh = aged(finished(cache / "venvs" / "chainer-7.8.1-fresh"), 1)
    fresh_layer = aged(finished(fresh / "toolkit-new"), 0)
    old_layer = aged(finished(fresh / "toolkit-old"), venvs.TOOLKIT_LAYER_DAYS + 1)
    stale = aged(finished(cache / "venvs" / "python-3.11-stale"), venvs.ENVIRONMENT_DAYS + 1)
    stale_layer = aged(finished(stale / "toolkit-x"), 0)
    requirements_on_stale = finished(cache / "layers" / "r", python=str(venvs.python_in(stale_layer)))
    (stale_layer / "bin").mkdir()
    assert sorted(venvs.prune(now)) == sorted([old_layer, stale, requirements_on_stale])
    assert fresh.is_dir() and fresh_layer.is_dir() and not stale.exists() and not old_layer.exists()
