"""Process-backend environments built for real (pip from PyPI), then reused."""
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import framework_sdk
from framework_sdk import images, venvs


@pytest.fixture(scope="module")
def chainer_python():
    """The chainer 7.8.1 environment (built once into the user cache, reused by later runs)."""
    return venvs.framework_python("chainer", "7.8.1")


def run_python(python, code, env=None):
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **(env or {})})
    return result.returncode, result.stdout + result.stderr


def test_chainer_environment_imports_chainer_and_the_toolkit(chainer_python):
    code, output = run_python(chainer_python, (
        "import chainer, numpy, framework_sdk.container.__main__, importlib.util as u;"
        "print(chainer.__version__, numpy.__version__, framework_sdk.__file__, bool(u.find_spec('mpi4py')))"))
    assert code == 0, output
    chainer_version, numpy_version, toolkit, has_mpi4py = output.split()
    assert chainer_version == "7.8.1" and numpy_version.startswith("1.")
    layer = chainer_python.parents[1]  # <environment>/toolkit-<hash>/bin/python
    assert Path(toolkit).is_relative_to(layer)  # the installed toolkit, copied into the layer on the environment
    assert Path(toolkit).read_bytes() == Path(framework_sdk.__file__).read_bytes()
    assert has_mpi4py == str(bool(shutil.which("mpicc")))


def test_second_call_reuses_the_environment(chainer_python):
    marker = chainer_python.parent.parent / venvs.COMPLETE
    before = marker.stat().st_mtime_ns
    started = time.monotonic()
    assert venvs.framework_python("chainer", "7.8.1") == chainer_python
    assert time.monotonic() - started < 1.0
    assert marker.stat().st_mtime_ns == before


def test_an_edited_toolkit_is_a_new_layer_on_the_same_environment(chainer_python, tmp_path, monkeypatch):
    installed = images.Toolkit.installed()
    edited = tmp_path / "edited-checkout" / "framework_sdk"
    shutil.copytree(installed.package_dir, edited, ignore=shutil.ignore_patterns("__pycache__"))
    with open(edited / "container" / "__init__.py", "a") as file:
        file.write(f"EDIT = {uuid.uuid4().hex!r}\n")
    toolkit = images.Toolkit(installed.version, installed.requirements, installed.entry_points, edited)
    monkeypatch.setattr(images.Toolkit, "installed", classmethod(lambda cls: toolkit))
    started = time.monotonic()
    python = venvs.framework_python("chainer", "7.8.1")
    elapsed = time.monotonic() - started
    try:
        assert python != chainer_python and python.parents[2] == chainer_python.parents[2]  # same environment
        assert elapsed < 15, f"a new toolkit layer took {elapsed:.1f} s"
        code, output = run_python(python, "import chainer, framework_sdk.container as c; print(chainer.__version__, c.EDIT)")
        assert code == 0 and output.split()[0] == "7.8.1", output
    finally:
        shutil.rmtree(python.parents[1], ignore_errors=True)
        Path(f"{python.parents[1]}.lock").unlink(missing_ok=True)


def test_user_layer_installs_once_and_keeps_the_environment_packages(chainer_python, tmp_path):
    requirements = tmp_path / "requirements.txt"
    # a unique comment makes a fresh layer for this run; numpy is already in the environment
    requirements.write_text(f"# integration test {uuid.uuid4().hex}\ninflection==0.5.1\nnumpy\n")
    layer_python = venvs.user_layer(chainer_python, requirements)
    layer = layer_python.parents[2]  # <cache>/layers/<key>/venv/bin/python
    site_packages = venvs._site_packages(layer_python)
    try:
        probe = "import inflection, numpy; print(inflection.__version__, numpy.__version__, inflection.__file__)"
        code, output = run_python(layer_python, probe)
        assert code == 0, output
        inflection_version, numpy_version, location = output.split()
        assert inflection_version == "0.5.1" and location.startswith(str(site_packages))
        assert numpy_version.startswith("1."), "the layer must not shadow the environment's numpy"
        assert not any(path.name.startswith("numpy") for path in os.scandir(site_packages))

        code, output = run_python(chainer_python, "import inflection")
        assert code != 0 and "No module named 'inflection'" in output  # only the layer has it

        # The standard library first, then the layer, then every site directory of the environment.
        code, output = run_python(layer_python, "import json, sys, sysconfig; "
                                                "print(json.dumps([sys.path, sysconfig.get_paths()['stdlib']]))")
        path, stdlib = json.loads(output)
        lower = venvs.site_directories(chainer_python)
        assert path.index(stdlib) < path.index(str(site_packages)) < min(path.index(entry) for entry in lower)
        assert [entry for entry in path if entry in lower] == lower

        build_log = layer / "build.log"
        assert "inflection" in build_log.read_text()
        before = build_log.stat().st_mtime_ns
        started = time.monotonic()
        assert venvs.user_layer(chainer_python, requirements) == layer_python
        assert time.monotonic() - started < 1.0
        assert build_log.stat().st_mtime_ns == before  # no pip ran
    finally:
        shutil.rmtree(layer, ignore_errors=True)
        Path(f"{layer}.lock").unlink(missing_ok=True)
