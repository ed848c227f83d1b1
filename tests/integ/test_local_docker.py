"""Local mode on the docker backend, end to end, with a tiny bring-your-own image (local_byo_image/).

The image's ``train`` fits least squares with numpy (two hosts talk over TCP by host name);
its ``serve`` answers CSV. Every test checks that no container, network or temporary tree
of local mode is left behind.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from framework_sdk import Estimator, LocalSession
from framework_sdk.exceptions import UnexpectedStatusException
from framework_sdk.local import LocalModeError
from framework_sdk.local.backends.docker import LABEL
from framework_sdk.serializers import CSVDeserializer, CSVSerializer

pytestmark = pytest.mark.docker
IMAGE_DIR = Path(__file__).parent / "local_byo_image"


@pytest.fixture(scope="session")
def byo_image(docker_client, base_image):
    """The test image, built once per run (tagged by the hash of its files) and removed afterwards."""
    import hashlib

    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(IMAGE_DIR.iterdir()))).hexdigest()[:12]
    tag = f"fsdk-local-test-byo:{digest}"
    docker_client.images.build(path=str(IMAGE_DIR), tag=tag, rm=True)
    yield tag
    try:
        docker_client.images.remove(tag, force=True)
    except Exception:
        pass


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A data folder with train.csv (y = 2a + 3b), and every temporary tree kept under tmp_path/tmp."""
    data = tmp_path / "data"
    data.mkdir()
    rows = [(a / 10, (a * 7 % 10) / 10) for a in range(40)]
    (data / "train.csv").write_text("".join(f"{a},{b},{2 * a + 3 * b}\n" for a, b in rows))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return tmp_path


def leftovers(docker_client, work):
    """Containers and networks of these tests' jobs (named after the test image), and temporary trees."""
    ours = "fsdk-fsdk-local-test-byo-"
    containers = [c.name for c in docker_client.containers.list(all=True, filters={"label": LABEL})
                  if c.name.startswith(ours)]
    networks = [n.name for n in docker_client.networks.list(filters={"label": LABEL}) if n.name.startswith(ours)]
    trees = [p.name for p in (work / "tmp").iterdir() if p.name.startswith("framework-sdk-local-")]
    return containers + networks + trees


@pytest.fixture
def session(docker_client, work):
    session = LocalSession(backend="docker", docker_client=docker_client)
    yield session
    session.close()
    assert leftovers(docker_client, work) == []


def estimator(session, image, work, **kwargs):
    kwargs.setdefault("instance_type", "local")
    return Estimator(image, sagemaker_session=session, output_path=f"file://{work}/models", **kwargs)


def test_train_deploy_predict_transform(session, byo_image, work, capsys):
    trainer = estimator(session, byo_image, work, instance_count=1)
    trainer.fit({"train": f"file://{work}/data"})
    out = capsys.readouterr().out
    assert "algo-1 | training started on algo-1" in out
    assert trainer.model_data == f"file://{work}/models/{trainer.latest_training_job.name}/output/model.tar.gz"
    assert Path(trainer.model_data[7:]).is_file()
    assert (Path(trainer.model_data[7:]).parent / "output.tar.gz").is_file()

    predictor = trainer.deploy(initial_instance_count=2, instance_type="local",
                               serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        assert [float(v) for (v,) in predictor.predict([[1, 1], [2, 0]])] == pytest.approx([5.0, 4.0])
        raw = session.sagemaker_runtime_client.invoke_endpoint(
            EndpointName=predictor.endpoint_name, Body=b"1,0", ContentType="text/csv", Accept="text/csv",
            CustomAttributes="trace=1")
        assert raw["ContentType"] == "text/csv" and raw["CustomAttributes"] == "echo=trace=1"
        assert float(raw["Body"].read()) == pytest.approx(2.0)
        bad = session.sagemaker_runtime_client.invoke_endpoint
        with pytest.raises(Exception, match=r"ModelError.*400.*bad CSV"):
            bad(EndpointName=predictor.endpoint_name, Body=b"x,y", ContentType="text/csv")
        # The server keeps serving after a bad request, on both instances.
        assert len(session.local_endpoint(predictor.endpoint_name).urls) == 2
        assert [float(v) for (v,) in predictor.predict([[0, 1]])] == pytest.approx([3.0])
    finally:
        predictor.delete_endpoint()

    batch = work / "batch"
    batch.mkdir()
    (batch / "rows.csv").write_text("".join(f"{i},1\n" for i in range(50)))
    transformer = trainer.transformer(instance_count=1, instance_type="local", assemble_with="Line",
                                      output_path=f"file://{work}/predictions", accept="text/csv",
                                      max_payload=1)
    transformer.transform(f"file://{batch}", content_type="text/csv", split_type="Line")
    lines = (work / "predictions" / "rows.csv.out").read_text().splitlines()
    assert [float(v) for v in lines] == pytest.approx([2 * i + 3 for i in range(50)])


def test_two_hosts_reach_each_other_by_name(session, byo_image, work):
    trainer = estimator(session, byo_image, work, instance_count=2)
    trainer.fit({"train": f"file://{work}/data"}, logs=False)
    import json
    import tarfile

    with tarfile.open(trainer.model_data[7:]) as archive:
        model = json.load(archive.extractfile("model.json"))
    assert model["peers"] == {"algo-2": 40}
    assert model["weights"] == pytest.approx([2.0, 3.0])
    attached = Estimator.attach(trainer.latest_training_job.name, sagemaker_session=session)
    assert attached.model_data == trainer.model_data and attached.instance_count == 2


def test_one_host_failing_stops_the_other(session, byo_image, work):
    trainer = estimator(session, byo_image, work, instance_count=2,
                        hyperparameters={"fail_on": "algo-2", "sleep": 60})
    started = time.monotonic()
    with pytest.raises(UnexpectedStatusException) as failure:
        trainer.fit({"train": f"file://{work}/data"}, logs=False)
    assert time.monotonic() - started < 30  # algo-1 (sleeping 60 s) was stopped
    message = str(failure.value)
    assert "host algo-2 exited with code 3" in message
    assert "refusing to train on algo-2 (fail_on)" in message  # output/failure
    assert "about to fail" in message  # the log tail


def test_container_killed_mid_training(session, byo_image, work, docker_client):
    trainer = estimator(session, byo_image, work, instance_count=1, hyperparameters={"sleep": 60})
    started = time.monotonic()
    trainer.fit({"train": f"file://{work}/data"}, wait=False)
    assert time.monotonic() - started < 1.0  # fit(wait=False) returns at once
    job = session.sagemaker_client.training_jobs[trainer.latest_training_job.name]
    lines = job.logs.follow()
    assert "training started" in next(lines)
    (container,) = docker_client.containers.list(filters={"label": f"{LABEL}={job.group}"})
    container.kill()
    with pytest.raises(UnexpectedStatusException, match=r"host algo-1 was killed \(SIGKILL\) from outside"):
        trainer.wait(logs=False)
    assert trainer.describe()["TrainingJobStatus"] == "Failed"


def test_missing_image_names_the_build_command(session, work):
    trainer = estimator(session, "framework-sdk-chainer:0.0.0-cpu-py3-missing", work, instance_count=1)
    with pytest.raises(LocalModeError, match="not on the Docker engine.*never pulls.*framework-sdk images build"):
        trainer.fit({"train": f"file://{work}/data"})


def test_local_gpu_without_gpus_says_what_to_install(session, byo_image, work, docker_client):
    if "nvidia" in docker_client.info().get("Runtimes", {}):
        pytest.skip("this engine has the NVIDIA runtime")
    trainer = estimator(session, byo_image, work, instance_count=1, instance_type="local_gpu")
    started = time.monotonic()
    with pytest.raises(UnexpectedStatusException, match=r"local_gpu.*NVIDIA Container Toolkit.*instance_type='local'"):
        trainer.fit({"train": f"file://{work}/data"}, logs=False)
    assert time.monotonic() - started < 5  # a container that never started is removed at once


def test_model_fn_failure_fails_deploy_with_the_traceback(session, byo_image, work):
    trainer = estimator(session, byo_image, work, instance_count=1)
    trainer.fit({"train": f"file://{work}/data"}, logs=False)
    model = trainer.create_model(env={"MODEL_FN_FAILS": "1"})
    started = time.monotonic()
    with pytest.raises(UnexpectedStatusException) as failure:
        model.deploy(initial_instance_count=1, instance_type="local")
    assert time.monotonic() - started < 20
    assert "Traceback" in str(failure.value)
    assert "RuntimeError: model_fn failed on purpose" in str(failure.value)


def test_many_endpoints_and_a_port_in_use(session, byo_image, work, docker_client):
    trainer = estimator(session, byo_image, work, instance_count=1)
    trainer.fit({"train": f"file://{work}/data"}, logs=False)
    predictors = [trainer.deploy(initial_instance_count=1, instance_type="local", endpoint_name=f"fsdk-local-test-byo-many-{i}",
                                 serializer=CSVSerializer(), deserializer=CSVDeserializer()) for i in range(3)]
    try:
        for predictor in predictors:
            assert float(predictor.predict([[1, 1]])[0][0]) == pytest.approx(5.0)
    finally:
        for predictor in predictors:
            predictor.delete_endpoint()

    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fixed = LocalSession(backend="docker", docker_client=docker_client, serving_port=port)
        model = trainer.create_model()
        model.sagemaker_session = fixed
        with pytest.raises(UnexpectedStatusException, match=f"port {port} is already in use"):
            model.deploy(initial_instance_count=1, instance_type="local")


def test_ctrl_c_mid_job_leaves_nothing(byo_image, work, docker_client):
    script = textwrap.dedent(f"""
        from framework_sdk import Estimator, LocalSession
        session = LocalSession(backend="docker")
        Estimator({byo_image!r}, instance_type="local", instance_count=2, sagemaker_session=session,
                  output_path="file://{work}/models", hyperparameters={{"sleep": 120}}
                  ).fit({{"train": "file://{work}/data"}})
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=dict(os.environ, TMPDIR=str(work / "tmp")), text=True)
    try:
        seen = []
        for line in child.stdout:  # wait for the event: both hosts are training
            seen.append(line)
            if sum("training started" in item for item in seen) == 2:
                break
        assert len(leftovers(docker_client, work)) >= 3  # 2 containers, a network, the tree
        child.send_signal(signal.SIGINT)
        output = child.communicate(timeout=60)[0]
    finally:
        child.kill()
    assert child.returncode != 0 and "KeyboardInterrupt" in output
    assert leftovers(docker_client, work) == []


def test_endpoints_left_running_stop_when_python_exits(byo_image, work, docker_client):
    script = textwrap.dedent(f"""
        from framework_sdk import Estimator, LocalSession
        session = LocalSession(backend="docker")
        trainer = Estimator({byo_image!r}, instance_type="local", instance_count=1, sagemaker_session=session,
                            output_path="file://{work}/models")
        trainer.fit({{"train": "file://{work}/data"}}, logs=False)
        for count in (1, 2):
            trainer.deploy(initial_instance_count=count, instance_type="local",
                           endpoint_name=f"fsdk-local-test-byo-exit-{{count}}")
        print("serving", len(session.sagemaker_client.endpoints))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TMPDIR=str(work / "tmp")))
    assert done.returncode == 0 and "serving 2" in done.stdout, done.stdout + done.stderr
    assert leftovers(docker_client, work) == []


@pytest.fixture
def s3_server(monkeypatch):
    """moto's S3-compatible server on a free loopback port, with test credentials in the environment."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name, value in {"AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_s3_inputs_and_outputs(s3_server, byo_image, work, docker_client):
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="local-data")
    s3.upload_file(str(work / "data" / "train.csv"), "local-data", "train/part-1.csv")
    s3.put_object(Bucket="local-data", Key="batch/rows.csv", Body=b"1,1\n0,1\n")
    session = LocalSession(backend="docker", docker_client=docker_client)
    try:
        trainer = Estimator(byo_image, instance_type="local", instance_count=1, sagemaker_session=session,
                            output_path="s3://local-data/models")
        trainer.fit({"train": "s3://local-data/train"}, logs=False)
        job = trainer.latest_training_job.name
        assert trainer.model_data == f"s3://local-data/models/{job}/output/model.tar.gz"
        s3.head_object(Bucket="local-data", Key=f"models/{job}/output/output.tar.gz")
        transformer = trainer.transformer(instance_count=1, instance_type="local", assemble_with="Line",
                                          output_path="s3://local-data/predictions")
        transformer.transform("s3://local-data/batch", content_type="text/csv", split_type="Line")
        body = s3.get_object(Bucket="local-data", Key="predictions/rows.csv.out")["Body"].read()
        assert [float(v) for v in body.split()] == pytest.approx([5.0, 3.0])
    finally:
        session.close()
    assert leftovers(docker_client, work) == []


def test_files_written_by_root_containers_are_handed_back(byo_image, docker_client, tmp_path, monkeypatch):
    from framework_sdk.local.backends.docker import DockerBackend

    tree = tmp_path / "algo-1"
    (tree / "model").mkdir(parents=True)
    docker_client.containers.run(byo_image, entrypoint=["sh", "-c", "echo w > /opt/ml/model/m && chmod 600 "
                                 "/opt/ml/model/m"], volumes={str(tree): {"bind": "/opt/ml"}}, remove=True)
    assert (tree / "model" / "m").stat().st_uid == 0
    monkeypatch.setattr(os, "geteuid", lambda: 4321)  # as if a user without root ran local mode
    monkeypatch.setattr(os, "getegid", lambda: 4321)
    DockerBackend(docker_client).hand_back(byo_image, tree)
    assert {(p.stat().st_uid, p.stat().st_gid) for p in [tree, tree / "model", tree / "model" / "m"]} == {(4321, 4321)}
