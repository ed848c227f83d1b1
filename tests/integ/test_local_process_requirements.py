"""A job's requirements on the process backend: resolved as in an image, never over the standard library.

The requirement is a wheel the test writes (installed offline from a path in ``requirements.txt``):
like the old ``typing`` backport that ``sagemaker-containers`` pulls in, it ships a ``typing.py``
(this one raises on import), plus a module of its own and a console script ``train`` that exits 3
(``sagemaker-containers`` installs one). In an image the standard library wins; so must it here,
for the job, every MPI rank and the model server.
"""
import tarfile

import pytest

from framework_sdk import LocalSession
from framework_sdk.estimator import Framework
from framework_sdk.model import FrameworkModel
from framework_sdk.serializers import CSVDeserializer, CSVSerializer
from wheels import write_wheel

SHADOW = 'raise ImportError("the requirement fsdk-test-shadow shadowed the standard library\'s typing")\n'
MARKER = '''import sys
NAME = "fsdk-test-shadow"

def main():  # its console scripts `train` and `serve`
    print("the requirement's own entry point ran", flush=True)
    sys.exit(3)
'''

TRAIN = '''
import os, sys, typing
import fsdk_test_shadow_marker as marker
rank = os.environ.get("OMPI_COMM_WORLD_RANK", "0")
print(f"rank {rank}: typing from {typing.__file__}, {marker.NAME} from {marker.__file__}", flush=True)
with open(os.path.join(os.environ["SM_MODEL_DIR"], f"rank-{rank}.txt"), "w") as out:
    out.write(typing.__file__)
'''
INFERENCE = '''
import typing
import fsdk_test_shadow_marker as marker

def model_fn(model_dir):
    return marker.NAME

def predict_fn(data, model):
    return [[float(model == "fsdk-test-shadow" and not typing.__file__.endswith("site-packages/typing.py"))]
            for _ in data]
'''


class ScriptModel(FrameworkModel):
    _framework_name = "python"


class Script(Framework):
    _framework_name = "python"
    model_cls = ScriptModel
    mpi = False

    def _framework_hyperparameters(self):
        return {"sagemaker_use_mpi": True, "sagemaker_process_slots_per_host": 1} if self.mpi else {}


@pytest.fixture(scope="module")
def framework_python():
    from framework_sdk import venvs

    return venvs.framework_python("python", "3.11")


@pytest.fixture
def code(tmp_path, framework_python):
    folder = tmp_path / "code"
    folder.mkdir()
    wheel = write_wheel(folder, "fsdk-test-shadow", {"typing": SHADOW, "fsdk_test_shadow_marker": MARKER},
                        scripts={"train": "fsdk_test_shadow_marker:main", "serve": "fsdk_test_shadow_marker:main"})
    (folder / "requirements.txt").write_text(f"./{wheel.name}\n")
    (folder / "train.py").write_text(TRAIN)
    (folder / "inference.py").write_text(INFERENCE)
    return folder


@pytest.fixture
def session(tmp_path):
    session = LocalSession(backend="process", work_dir=str(tmp_path))
    yield session
    session.close()


@pytest.mark.parametrize("hosts", [1, 2])
def test_requirements_never_shadow_the_standard_library(session, code, tmp_path, capsys, hosts):
    trainer = Script("train.py", source_dir=str(code), framework_version="3.11", instance_type="local",
                     instance_count=hosts, sagemaker_session=session, output_path=f"file://{tmp_path}/models")
    trainer.mpi = hosts > 1
    trainer.fit()
    out = capsys.readouterr().out
    assert "the requirement's own entry point ran" not in out
    ranks = [line for line in out.splitlines() if "fsdk-test-shadow from" in line]
    assert len(ranks) == hosts, out
    assert all("site-packages/typing.py" not in line for line in ranks)
    with tarfile.open(trainer.model_data[len("file://"):]) as archive:
        assert sorted(archive.getnames()) == [f"rank-{rank}.txt" for rank in range(hosts)]
    if hosts > 1:
        return
    predictor = trainer.create_model(entry_point="inference.py", source_dir=str(code)).deploy(
        initial_instance_count=1, instance_type="local", serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        assert predictor.predict([[1, 2]]) == [["1.0"]]
    finally:
        predictor.delete_endpoint()
