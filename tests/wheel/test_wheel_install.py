"""The install path users take: a wheel built from this tree, installed into a fresh venv with no checkout.

Everything runs in a temporary folder outside the repository with the venv's own programs,
so nothing can come from ``src/``: the demo trains, deploys and predicts on the process
backend, ``framework-sdk images build chainer`` builds the image on the Docker engine,
``framework-sdk check`` checks it, and ``framework-sdk --version`` names the wheel's version.
The Chainer environment of the process backend is keyed by content, so the wheel install
reuses the one the checkout's tests built (and this test asserts it).
"""
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from framework_sdk import images, venvs

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 600
FLOW_TIMEOUT = 900
BUILD_TIMEOUT = 1800


def user_environment(venv):
    """This process's environment without anything that points at the checkout or the test venv."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    environment["PATH"] = os.pathsep.join([str(venv / "bin"), environment.get("PATH", os.defpath)])
    environment["VIRTUAL_ENV"] = str(venv)
    return environment


def run(command, cwd, venv, timeout):
    started = time.monotonic()
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=user_environment(venv),
                            capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.monotonic() - started
    print(f"$ {' '.join(map(str, command))}  ({seconds:.1f} s, exit {result.returncode})")
    return result, seconds


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The sdist and, built from it, the wheel of this tree (``python -m build``)."""
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
                            capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert len(list(dist.glob("*.tar.gz"))) == 1
    [built] = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """``(venv, work)``: a fresh venv with the wheel installed, and an empty folder outside the checkout."""
    home = tmp_path_factory.mktemp("user")
    venv, work = home / "venv", home / "work"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    result, seconds = run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], work, venv, INSTALL_TIMEOUT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    print(f"installed {wheel.name} into a fresh venv in {seconds:.1f} s")
    return venv, work


def test_the_installed_module_is_the_venvs_own(installed):
    venv, work = installed
    result, _ = run([venv / "bin" / "python", "-c", "import framework_sdk; print(framework_sdk.__file__)"],
                    work, venv, 60)
    assert result.returncode == 0, result.stderr
    module = Path(result.stdout.strip())
    assert module.is_relative_to(venv) and not module.is_relative_to(ROOT / "src"), module
    definitions = module.parent / "images" / "chainer"
    assert sorted(path.name for path in definitions.iterdir()) == sorted(
        path.name for path in images.find_spec("chainer", "7.8.1").folder.iterdir() if path.name != "__pycache__")


def test_version_comes_from_the_package_metadata(installed, wheel):
    venv, work = installed
    version = wheel.name.split("-")[1]
    result, _ = run([venv / "bin" / "framework-sdk", "--version"], work, venv, 60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"framework-sdk, version {version}"
    result, _ = run([venv / "bin" / "python", "-c", "import framework_sdk; print(framework_sdk.__version__)"],
                    work, venv, 60)
    assert result.stdout.strip() == version


def test_demo_trains_deploys_and_predicts_on_the_process_backend(installed):
    venv, work = installed
    examples = work / "examples"
    shutil.copytree(ROOT / "examples" / "chainer_mnist", examples / "chainer_mnist")
    shutil.copy(ROOT / "examples" / "demo.py", examples / "demo.py")
    # the checkout's environment and toolkit layer (built here if no test built them yet): the wheel reuses both
    layer = venvs.framework_python("chainer", "7.8.1").parents[1]

    result, seconds = run([venv / "bin" / "python", examples / "demo.py", "--epochs", "1"], work, venv, FLOW_TIMEOUT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    print(f"demo (train, deploy, predict) from the wheel install in {seconds:.1f} s")
    assert "accuracy on the 500 test samples" in output and "Endpoint deleted" in output, output[-4000:]
    used = re.search(r"using the chainer 7\.8\.1 environment (\w+).* toolkit layer (\w+)", output)
    assert used, output[-4000:]
    assert used.group(1) == layer.parent.name.rsplit("-", 1)[1], "the wheel install built another environment"
    assert f"{venvs.TOOLKIT_LAYER}{used.group(2)}" == layer.name, (
        "the wheel's package files differ from this checkout's: a file of src/framework_sdk is not in the wheel")
    assert "building the chainer 7.8.1 environment" not in output


@pytest.mark.docker
def test_images_build_and_check_run_from_the_wheel_install(installed, docker_client, tmp_path):
    venv, work = installed
    result, seconds = run([venv / "bin" / "framework-sdk", "images", "build", "chainer"], work, venv, BUILD_TIMEOUT)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    print(f"framework-sdk images build chainer from the wheel install in {seconds:.1f} s")
    tag = images.find_spec("chainer", "7.8.1").tag
    assert result.stdout.startswith(tag), result.stdout
    assert f"from {venv}" in result.stderr, "the image definition must come from the installed package"
    toolkit = run([venv / "bin" / "python", "-c", "import framework_sdk; print(framework_sdk.__version__)"],
                  work, venv, 60)[0].stdout.strip()
    assert docker_client.images.get(tag).labels["org.framework-sdk.toolkit-version"] == toolkit

    source = work / "check-src"
    source.mkdir()
    (source / "model.py").write_text(CHAINER_SCRIPT)
    result, seconds = run([venv / "bin" / "framework-sdk", "check", tag, "--entry-point", "model.py",
                           "--source-dir", source, "--timeout", "120"], work, venv, FLOW_TIMEOUT)
    print(f"framework-sdk check {tag} from the wheel install in {seconds:.1f} s (exit {result.returncode})")
    assert "PASS    train: exits 0 on valid input" in result.stdout, (result.stdout + result.stderr)[-6000:]
    assert re.search(r"^\d+ pass\b", result.stdout.splitlines()[-1]), result.stdout[-2000:]  # the summary line


# Softmax regression on the check's CSV (label first, four features), served with model_fn/predict_fn.
CHAINER_SCRIPT = textwrap.dedent('''
    import glob
    import os

    import chainer
    import chainer.functions as F
    import chainer.links as L
    import numpy as np
    from chainer import serializers


    class BadInput(ValueError):
        status_code = 400


    def model_fn(model_dir):
        model = L.Linear(4, 3)
        serializers.load_npz(os.path.join(model_dir, "model.npz"), model)
        return model


    def predict_fn(data, model):
        rows = np.asarray(data, dtype=np.float32)
        rows = rows[None, :] if rows.ndim == 1 else rows
        if rows.ndim != 2 or rows.shape[1] != 4:
            raise BadInput(f"expected rows of 4 features, got an array of shape {rows.shape}")
        with chainer.using_config("train", False), chainer.no_backprop_mode():
            return F.argmax(model(rows), axis=1).array


    if __name__ == "__main__":
        files = sorted(glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAINING"], "*")))
        if not files:
            raise SystemExit("no files in the training channel")
        table = np.vstack([np.loadtxt(name, delimiter=",", ndmin=2) for name in files])
        x, y = table[:, 1:].astype(np.float32), table[:, 0].astype(np.int32)
        classifier = L.Classifier(L.Linear(4, 3))
        optimizer = chainer.optimizers.Adam(alpha=0.1)
        optimizer.setup(classifier)
        for _ in range(200):
            classifier.cleargrads()
            loss = classifier(x, y)
            loss.backward()
            optimizer.update()
        serializers.save_npz(os.path.join(os.environ["SM_MODEL_DIR"], "model.npz"), classifier.predictor)
''')
