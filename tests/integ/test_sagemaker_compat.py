"""sagemaker_training / sagemaker_containers inside images and process environments, never in the client.

The scripts are our own, making the calls the SageMaker Python SDK's Chainer integration scripts and the
SageMaker Chainer container's tests make (training_env(), environment.Environment() and its attributes,
model_fn in the same module that imports sagemaker_containers).
"""
import json
import subprocess
import sys
import tarfile

import pytest

from framework_sdk import LocalSession
from framework_sdk.estimator import Framework
from framework_sdk.model import FrameworkModel
from framework_sdk.serializers import JSONDeserializer, JSONSerializer

SCRIPT = '''
import argparse, json, os
import sagemaker_containers
from sagemaker_training import environment

if __name__ == "__main__":
    env = sagemaker_containers.training_env()
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--model-dir", type=str, default=env.model_dir)
    parser.add_argument("--train", type=str, default=env.channel_input_dirs["train"])
    parser.add_argument("--num-gpus", type=int, default=env.num_gpus)
    args = parser.parse_args()
    other = environment.Environment()
    seen = {name: getattr(other, name) for name in (
        "hosts", "current_host", "num_cpus", "hyperparameters", "user_entry_point", "network_interface_name",
        "module_dir", "output_data_dir")}
    seen.update(epochs=args.epochs, num_gpus=args.num_gpus, train=sorted(os.listdir(args.train)),
                model_dir_is_sm=args.model_dir == os.environ["SM_MODEL_DIR"],
                real=getattr(sagemaker_containers, "REAL", False))
    with open(os.path.join(args.model_dir, "seen.json"), "w") as out:
        json.dump(seen, out)


def model_fn(model_dir):
    with open(os.path.join(model_dir, "seen.json")) as saved:
        return json.load(saved)


def predict_fn(data, model):
    return [[model["epochs"]] for _ in data]
'''


class CompatModel(FrameworkModel):
    _framework_name = "python"


class CompatScript(Framework):
    _framework_name = "python"
    model_cls = CompatModel


def test_the_client_cannot_import_them():
    for name in ("sagemaker_training", "sagemaker_containers"):
        probe = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True)
        assert probe.returncode == 1 and "ModuleNotFoundError" in probe.stderr


def run_job(backend, tmp_path, real=False):
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(SCRIPT)
    if real:  # a job that installs "the real package": here a stand-in distribution of that name
        package = code / "real-sagemaker-containers" / "sagemaker_containers"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("REAL = True\nfrom sagemaker_training.environment import Environment\n"
                                             "def training_env():\n    return Environment()\n")
        (package.parent / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
            '[project]\nname = "sagemaker-containers"\nversion = "99.0"\n')
        (code / "requirements.txt").write_text("./real-sagemaker-containers\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("1,2\n")
    estimator = CompatScript("train.py", source_dir=str(code), framework_version="3.11", instance_type="local",
                             instance_count=1, hyperparameters={"epochs": 4},
                             sagemaker_session=LocalSession(backend=backend))
    estimator.fit({"train": f"file://{data}"})
    with tarfile.open(estimator.model_data[len("file://"):]) as archive:
        seen = json.load(archive.extractfile("seen.json"))
    return estimator, seen


def check_seen(seen, real=False):
    assert seen["epochs"] == 4 and seen["num_gpus"] == 0 and seen["train"] == ["a.csv"]
    assert seen["hosts"] == ["algo-1"] and seen["current_host"] == "algo-1" and seen["num_cpus"] >= 1
    assert seen["hyperparameters"] == {"epochs": 4} and seen["user_entry_point"] == "train.py"
    assert seen["model_dir_is_sm"] and seen["output_data_dir"].endswith("/output/data")
    assert seen["network_interface_name"] == "eth0" and seen["real"] is real


@pytest.mark.parametrize("backend", ["process", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_sagemaker_containers_script_trains_and_serves_unchanged(backend, tmp_path, request):
    if backend == "docker":
        request.getfixturevalue("python_image")
    estimator, seen = run_job(backend, tmp_path)
    check_seen(seen)
    predictor = estimator.deploy(1, "local", serializer=JSONSerializer(), deserializer=JSONDeserializer())
    try:
        assert predictor.predict([[1.0, 2.0]]) == [[4]]
    finally:
        predictor.delete_endpoint()


def test_the_real_package_wins_when_the_job_installs_it(tmp_path):
    _, seen = run_job("process", tmp_path, real=True)
    check_seen(seen, real=True)
