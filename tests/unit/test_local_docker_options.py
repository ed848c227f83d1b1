"""What the docker backend asks the engine for, checked against a recording stand-in for docker-py."""

import pytest

pytest.importorskip("docker")

from framework_sdk.local import cleanup
from framework_sdk.local.backends.base import HostSpec
from framework_sdk.local.backends.docker import LABEL, DockerBackend


class Recorder:
    """Just enough of docker-py's client to record create() calls; containers exit at once."""

    def __init__(self):
        self.created, self.networks_made = [], []
        self.containers, self.networks, self.api = self, self, self
        self.base_url = "unix://recorder"

    def create_endpoint_config(self, aliases):
        return {"Aliases": aliases}

    def create(self, *args, **kwargs):  # containers.create and networks.create
        if "image" in kwargs:
            self.created.append(kwargs)
            return FakeContainer(kwargs["name"])
        self.networks_made.append((args, kwargs))
        return FakeNetwork(args[0])


class FakeContainer:
    def __init__(self, name):
        self.name, self.attrs = name, {"State": {}}

    def start(self):
        pass

    def logs(self, **_):
        return iter([b"hello\nwor", b"ld\n"])

    def wait(self, timeout=None):
        return {"StatusCode": 0}

    def reload(self):
        pass

    def stop(self, timeout=None):
        pass

    def remove(self, force=False):
        pass


class FakeNetwork:
    def __init__(self, name):
        self.name = name

    def remove(self):
        pass


def specs(tmp_path, count, role="train", port=None):
    result = []
    for index in range(1, count + 1):
        root = tmp_path / f"algo-{index}"
        root.mkdir()
        result.append(HostSpec(name=f"algo-{index}", role=role, root=root, environment={"A": "1"},
                               links=[(tmp_path, "input/data/train")], port=port))
    return result


def test_two_hosts_share_a_network_with_aliases_and_gpus(tmp_path):
    recorder, lines = Recorder(), []
    backend = DockerBackend(recorder)
    hosts = backend.start("fsdk-job", "img", specs(tmp_path, 2), gpu=True, on_line=lambda h, line: lines.append(line))
    for host in hosts:
        assert host.wait(5) == 0
    assert recorder.networks_made[0][0] == ("fsdk-job-net",)
    first = recorder.created[0]
    assert first["command"] == ["train"] and first["hostname"] == "algo-1" and first["init"] is True
    assert first["networking_config"] == {"fsdk-job-net": {"Aliases": ["algo-1"]}}
    assert first["labels"] == {LABEL: "fsdk-job", cleanup.OWNER_LABEL: cleanup.identity()}  # the owner finds orphans later
    assert first["device_requests"][0]["Capabilities"] == [["gpu"]]
    mounts = {m["Target"]: (m["Source"], m["ReadOnly"]) for m in first["mounts"]}
    assert mounts == {"/opt/ml": (str(tmp_path / "algo-1"), False),
                      "/opt/ml/input/data/train": (str(tmp_path), True)}
    assert lines.count("hello") == 2 and lines.count("world") == 2  # chunks re-split into lines


def test_a_serving_host_publishes_its_port_on_loopback(tmp_path):
    recorder = Recorder()
    DockerBackend(recorder).start("fsdk-ep", "img", specs(tmp_path, 1, "serve", port=43210))
    created = recorder.created[0]
    assert created["ports"] == {"8080/tcp": ("127.0.0.1", 43210)}
    assert "network" not in created and "device_requests" not in created
