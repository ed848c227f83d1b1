"""MPI across two real containers of the Chainer image: sshd on the worker, mpirun over ssh from the master."""
import json
import textwrap
import uuid

import pytest

MPI_SCRIPT = """
    import os
    import socket
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    total = world.allreduce(world.Get_rank() + 1, op=MPI.SUM)
    hosts = world.gather(socket.gethostname(), root=0)
    print(f"rank {world.Get_rank()} of {world.Get_size()} sum {total}", flush=True)
    if world.Get_rank() == 0:
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "result.json"), "w") as f:
            f.write(__import__("json").dumps({"sum": total, "hosts": hosts}))
"""


def write_tree(base, host, hosts):
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps({
        "sagemaker_program": json.dumps("mpi_sum.py"), "sagemaker_process_slots_per_host": "2"}))
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": host, "hosts": hosts, "network_interface_name": "eth0"}))
    (config / "inputdataconfig.json").write_text("{}")
    (base / "code").mkdir()
    (base / "code" / "mpi_sum.py").write_text(textwrap.dedent(MPI_SCRIPT))
    return base


@pytest.mark.docker
def test_mpi_across_two_containers(tmp_path, docker_client, chainer_image):
    prefix = f"fsdk-train-mpi-{uuid.uuid4().hex[:8]}"
    hosts = ["algo-1", "algo-2"]
    network = docker_client.networks.create(prefix, driver="bridge")
    containers = []
    try:
        for host in hosts:
            tree = write_tree(tmp_path / host, host, hosts)
            container = docker_client.containers.create(
                chainer_image, ["train"], name=f"{prefix}-{host}", hostname=host, network=prefix,
                volumes={str(tree): {"bind": "/opt/ml", "mode": "rw"}})
            network.disconnect(container)
            network.connect(container, aliases=[host])
            containers.append(container)
        for container in reversed(containers):  # workers first, as a cluster would start
            container.start()
        statuses = [container.wait(timeout=240)["StatusCode"] for container in containers]
        logs = [container.logs().decode("utf-8", "replace") for container in containers]

        assert statuses == [0, 0], "\n---\n".join(logs)
        result = json.loads((tmp_path / "algo-1" / "model" / "result.json").read_text())
        assert result == {"sum": 10, "hosts": ["algo-1", "algo-1", "algo-2", "algo-2"]}
        assert "[algo-2 rank 3] rank 3 of 4 sum 10" in logs[0]
        assert (tmp_path / "algo-2" / "output" / "success").exists()
    finally:
        for container in containers:
            container.remove(force=True)
        network.remove()
