"""The framework-author API of framework_sdk.container: Environment subclasses, call, run, import, the runner,
and frameworks registered by entry points (real processes, real entry points of the installed package)."""
import subprocess
import sys
import textwrap

import pytest

import framework_sdk.container as toolkit
from framework_sdk.container import frameworks
from framework_sdk.container.environment import Environment


class WorldEnvironment(Environment):
    @property
    def world_size(self):
        return len(self.hosts) * max(self.num_gpus, 1)

    def to_env_vars(self):
        return {**super().to_env_vars(), "SM_WORLD_SIZE": str(self.world_size)}


def environment(tmp_path, cls=Environment, **hyperparameters):
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(
        __import__("json").dumps({"sagemaker_program": "train.py", **hyperparameters}))
    (config / "resourceconfig.json").write_text('{"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}')
    (config / "inputdataconfig.json").write_text('{"train": {"TrainingInputMode": "File"}}')
    return cls.from_files(base_dir=tmp_path, environ={})


def test_public_names():
    assert toolkit.Environment is Environment
    assert {"call", "run", "fetch", "install", "import_module", "UserScriptError"} <= set(dir(toolkit))


def test_environment_subclass_keeps_its_class_and_extends_the_export(tmp_path):
    env = environment(tmp_path, WorldEnvironment, epochs='"3"')
    assert type(env) is WorldEnvironment and env.world_size == 2
    assert type(env.with_framework_defaults({"sagemaker_use_mpi": True})) is WorldEnvironment
    assert env.to_env_vars()["SM_WORLD_SIZE"] == "2" and env.to_env_vars()["SM_HP_EPOCHS"] == "3"


def test_call_passes_what_the_signature_names(tmp_path):
    env = environment(tmp_path, WorldEnvironment, epochs="3", lr="0.1")

    def train(channel_input_dirs, hyperparameters, num_gpus, epochs, world_size, batch=32, verbose=False):
        return channel_input_dirs, hyperparameters, num_gpus, epochs, world_size, batch, verbose

    dirs, hps, gpus, epochs, world, batch, verbose = toolkit.call(train, env, verbose=True)
    assert dirs == {"train": str(tmp_path / "input" / "data" / "train")}
    assert hps == {"epochs": 3, "lr": 0.1} and epochs == 3 and world == 2 and batch == 32 and verbose is True

    def with_kwargs(model_dir, **rest):
        return model_dir, rest

    assert toolkit.call(with_kwargs, env) == (str(tmp_path / "model"), {"epochs": 3, "lr": 0.1})

    def needs_unknown(nothing_like_this):
        pass

    with pytest.raises(toolkit.ConfigurationError, match="nothing_like_this"):
        toolkit.call(needs_unknown, env)


def test_run_returns_or_raises_with_exit_code_and_stderr_tail(tmp_path):
    (tmp_path / "ok.py").write_text("import sys, os; print(sys.argv[1:], os.environ['X'])")
    (tmp_path / "bad.py").write_text("import sys; print('first', file=sys.stderr); print('broken', file=sys.stderr); "
                                     "sys.exit(3)")
    assert toolkit.run(tmp_path, "ok.py", ["--a", 1], env={"X": "y", "PATH": "/usr/bin:/bin"}).returncode == 0
    with pytest.raises(toolkit.UserScriptError) as raised:
        toolkit.run(tmp_path, "bad.py")
    assert raised.value.exit_code == 3 and raised.value.stderr_tail == ["first", "broken"]
    assert "exit code 3" in str(raised.value) and "broken" in str(raised.value)
    assert toolkit.run(tmp_path, "bad.py", capture_error=False).returncode == 3


def test_import_module_from_code_dir(tmp_path):
    (tmp_path / "user_mod_for_test.py").write_text("def train():\n    return 42\n")
    assert toolkit.import_module("user_mod_for_test.py", tmp_path).train() == 42
    with pytest.raises(toolkit.UserCodeError, match="not_there_module"):
        toolkit.import_module("not_there_module", tmp_path)


def run_start_module(tmp_path, source, name="start_mod"):
    (tmp_path / "pkg").mkdir(exist_ok=True)
    (tmp_path / "pkg" / f"{name}.py").write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "framework_sdk.container.runner", name], cwd=tmp_path,
                          env={"SAGEMAKER_BASE_DIR": str(tmp_path / "ml"), "PYTHONPATH": str(tmp_path / "pkg"),
                               "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)


def test_runner_success_and_failure_files(tmp_path):
    done = run_start_module(tmp_path, "def main():\n    print('trained')\n")
    assert done.returncode == 0 and "trained" in done.stdout
    assert (tmp_path / "ml" / "output" / "success").is_file()

    failed = run_start_module(tmp_path, "def main():\n    raise RuntimeError('no data here')\n", "broken_mod")
    failure = (tmp_path / "ml" / "output" / "failure").read_text()
    assert failed.returncode == 1 and "RuntimeError: no data here" in failure and "Traceback" in failure

    exited = run_start_module(tmp_path, "import sys\nsys.exit(7)\n", "exit_mod")
    assert exited.returncode == 7 and "exited with code 7" in (tmp_path / "ml" / "output" / "failure").read_text()


def test_runner_sigterm_stops_the_module(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "slow_mod.py").write_text("import time\ndef main():\n    print('started', flush=True)\n"
                                                  "    time.sleep(60)\n")
    process = subprocess.Popen([sys.executable, "-m", "framework_sdk.container.runner", "slow_mod"],
                               env={"SAGEMAKER_BASE_DIR": str(tmp_path / "ml"), "PYTHONPATH": str(tmp_path / "pkg")},
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "started"
    process.terminate()
    assert process.wait(timeout=30) == 143
    process.stdout.close()
    assert "SIGTERM" in (tmp_path / "ml" / "output" / "failure").read_text()


def test_frameworks_are_registered_by_entry_points():
    points = frameworks.registered()
    assert points["chainer"].group == "framework_sdk.frameworks"
    assert points["chainer"].value == "framework_sdk.container.frameworks.chainer"
    chainer = frameworks.load("chainer")
    assert frameworks.image_versions(chainer) == {"7.8.1": ("py3",)}
    from framework_sdk.chainer import Chainer

    assert frameworks.resolve(chainer.ESTIMATOR) is Chainer
    assert frameworks.load("no_such_framework") is None and frameworks.load("Bad-Name") is None


def test_image_uris_reads_the_registry():
    from framework_sdk import image_uris

    assert set(image_uris.FRAMEWORKS) >= {"chainer", "python"}
    assert image_uris.retrieve("chainer", "7.8.1") == "framework-sdk-chainer:7.8.1-cpu-py3"
