"""A 2-host MPI job writes into each host's own /opt/ml tree, and both backends collect the same artifacts.

As in SageMaker's Chainer container test ``distributed_customer_script_with_env_vars.py``, the
script saves its model wherever ``SM_CURRENT_HOST`` is the first host, and mpirun gives every rank
the master's ``SM_*`` variables: so every rank saves, each into the model folder of the host it
runs on. On the docker backend (and on SageMaker) those are different trees and the master's
files win; the process backend must give the same ``model.tar.gz`` and ``output.tar.gz``.
"""
import json
import tarfile

import pytest

from framework_sdk import LocalSession
from framework_sdk.chainer import Chainer

SCRIPT = '''
import json, os
rank = int(os.environ["OMPI_COMM_WORLD_RANK"])
host = os.environ["SM_CURRENT_HOST"]          # the master's, for every rank (mpirun -x)
model_dir = os.environ["SM_MODEL_DIR"]
with open(os.path.join(model_dir, f"from-rank-{rank}.txt"), "w") as out:
    out.write(f"rank {rank} saw SM_CURRENT_HOST={host}\\n")
with open(os.path.join(model_dir, "marker.txt"), "a") as marker:
    marker.write(f"rank {rank}\\n")
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], f"rank-{rank}.txt"), "w") as out:
    out.write("extra output\\n")
if host == json.loads(os.environ["SM_HOSTS"])[0]:
    with open(os.path.join(model_dir, "model.json"), "w") as model:
        json.dump({"saved_by_rank": rank}, model)
'''

EXPECTED_MODEL = {
    "from-rank-0.txt": b"rank 0 saw SM_CURRENT_HOST=algo-1\n",
    "from-rank-1.txt": b"rank 1 saw SM_CURRENT_HOST=algo-1\n",
    "marker.txt": b"rank 0\n",                 # algo-1's own marker: one line, as on SageMaker
    "model.json": b'{"saved_by_rank": 0}',     # the master's file wins
}
EXPECTED_OUTPUT = {"rank-0.txt": b"extra output\n", "rank-1.txt": b"extra output\n"}


def members(path):
    with tarfile.open(path) as archive:
        return {member.name: archive.extractfile(member).read() for member in archive if member.isfile()}


def two_host_job(session, tmp_path, backend):
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "train.py").write_text(SCRIPT)
    estimator = Chainer("train.py", source_dir=str(code), framework_version="7.8.1", instance_type="local",
                        instance_count=2, sagemaker_session=session, output_path=f"file://{tmp_path}/{backend}")
    estimator.fit()
    model = estimator.model_data[len("file://"):]
    return members(model), members(model.replace("model.tar.gz", "output.tar.gz"))


@pytest.fixture(scope="module")
def process_artifacts(tmp_path_factory):
    from framework_sdk import venvs

    venvs.framework_python("chainer", "7.8.1")  # built once, outside the job
    tmp_path = tmp_path_factory.mktemp("process")
    session = LocalSession(backend="process", work_dir=str(tmp_path))
    try:
        return two_host_job(session, tmp_path, "process")
    finally:
        session.close()


def test_process_backend_gives_each_host_its_own_tree(process_artifacts):
    model, output = process_artifacts
    assert model == EXPECTED_MODEL
    assert output == EXPECTED_OUTPUT


@pytest.mark.docker
def test_both_backends_collect_the_same_artifacts(process_artifacts, docker_client, chainer_image, tmp_path):
    session = LocalSession(backend="docker", docker_client=docker_client)
    try:
        docker = two_host_job(session, tmp_path, "docker")
    finally:
        session.close()
    assert docker == (EXPECTED_MODEL, EXPECTED_OUTPUT)
    assert process_artifacts == docker
    assert json.loads(docker[0]["model.json"]) == {"saved_by_rank": 0}
