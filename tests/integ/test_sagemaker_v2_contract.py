"""Contract check with another client: the SageMaker Python SDK v2 drives our chainer image.

The SDK (``sagemaker<3``, in a throwaway venv cached like the benchmarks' peers) runs in
its own local mode, through Debian's docker-compose: its ``Chainer`` estimator with
``image_uri`` set to our image trains the example's ``train.py`` on ``file://`` data, and
its ``Predictor`` gets predictions from our model server in NPY, JSON and CSV. No AWS call
is made: dummy credentials, a region, telemetry off, ``local_code: True``, ``file://`` only.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "chainer_mnist"
pytestmark = [pytest.mark.docker, pytest.mark.slow]

SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    from sagemaker.local import LocalSession
    from sagemaker.chainer import Chainer, ChainerPredictor
    from sagemaker.serializers import CSVSerializer, JSONSerializer
    from sagemaker.deserializers import JSONDeserializer

    image, source_dir, data, out, port = sys.argv[1:6]
    session = LocalSession()
    # its own free port: SageMaker's local mode binds 8080 on the host unless told otherwise
    session.config = {"local": {"local_code": True, "serving_port": int(port)}}
    estimator = Chainer(entry_point="train.py", source_dir=source_dir, image_uri=image,
                        role="arn:aws:iam::111111111111:role/contract-test", instance_count=1,
                        instance_type="local", hyperparameters={"epochs": 2}, output_path="file://" + out,
                        sagemaker_session=session,
                        # never touched with local_code, but deploy() resolves a bucket (an STS call) without it
                        code_location="s3://contract-test-never-used/code")
    estimator.fit({"train": "file://" + data + "/train", "test": "file://" + data + "/test"})
    predictor = estimator.deploy(initial_instance_count=1, instance_type="local")
    try:
        with np.load(data + "/test/data.npz") as arrays:
            x, y = arrays["x"], arrays["y"]
        scores = predictor.predict(x)  # ChainerPredictor: NPY both ways
        json_predictor = ChainerPredictor(predictor.endpoint_name, session, serializer=JSONSerializer(),
                                          deserializer=JSONDeserializer())
        from_json = np.asarray(json_predictor.predict(x[:3].tolist()))
        csv_predictor = ChainerPredictor(predictor.endpoint_name, session, serializer=CSVSerializer(),
                                         deserializer=JSONDeserializer())
        from_csv = np.asarray(csv_predictor.predict(x[:3]))
        print("RESULT " + json.dumps({
            "predictor": type(predictor).__name__, "shape": list(scores.shape),
            "accuracy": float((scores.argmax(axis=1) == y).mean()), "model_data": estimator.model_data,
            "json_matches": bool(np.allclose(from_json, scores[:3], atol=1e-4)),
            "csv_matches": bool(np.allclose(from_csv, scores[:3], atol=1e-4))}), flush=True)
    finally:
        predictor.delete_endpoint()

    # two hosts: their compose network, their host names (algo-N-xxxxx), our sshd and mpirun
    distributed = Chainer(entry_point="train_distributed.py", source_dir=source_dir, image_uri=image,
                          role="arn:aws:iam::111111111111:role/contract-test", instance_count=2,
                          instance_type="local", hyperparameters={"epochs": 1}, process_slots_per_host=1,
                          output_path="file://" + out + "-distributed", sagemaker_session=session,
                          code_location="s3://contract-test-never-used/code")
    distributed.fit({"train": "file://" + data + "/train", "test": "file://" + data + "/test"})
    print("DISTRIBUTED " + json.dumps({"model_data": distributed.model_data}), flush=True)
''')


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def sagemaker_python():
    """The SageMaker SDK v2's python (benchmarks/_peers.py's cached venv) and docker-compose, or skip/fail."""
    if not shutil.which("docker-compose"):
        message = "the SageMaker SDK's local mode needs docker-compose: run scripts/setup_test_host.py as root"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from _peers import peer_env, sagemaker_v2_python
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return sagemaker_v2_python(), peer_env()


@pytest.fixture
def remove_their_containers(docker_client, tmp_path):
    """The SageMaker SDK leaves its stopped compose containers behind: remove the ones made under tmp_path."""
    yield
    label = "com.docker.compose.project.working_dir"
    for container in docker_client.containers.list(all=True, filters={"label": label}):
        if container.labels.get(label, "").startswith(str(tmp_path)):
            container.remove(force=True)


def test_sagemaker_v2_local_mode_trains_and_predicts_with_our_chainer_image(
        sagemaker_python, chainer_image, tmp_path, remove_their_containers):
    python, env = sagemaker_python
    sys.path.insert(0, str(EXAMPLE))
    try:
        import data
    finally:
        sys.path.remove(str(EXAMPLE))
    data.write(str(tmp_path / "data" / "train"), 2000, seed=1)
    data.write(str(tmp_path / "data" / "test"), 500, seed=2)
    source = tmp_path / "source"
    source.mkdir()
    for script_name in ("train.py", "train_distributed.py"):  # unchanged: the Chainer guide's scripts
        shutil.copy(EXAMPLE / script_name, source / script_name)
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    env = dict(env, AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="contract-test",
               AWS_SECRET_ACCESS_KEY="contract-test", AWS_EC2_METADATA_DISABLED="true",
               SAGEMAKER_USER_CONFIG_OVERRIDE=str(config), SAGEMAKER_ADMIN_CONFIG_OVERRIDE=str(config),
               SAGEMAKER_SUPPRESS_V2_WARNING="1", TMPDIR=str(tmp_path))
    script = tmp_path / "sagemaker_v2_chainer.py"
    script.write_text(SCRIPT)
    done = subprocess.run([python, str(script), chainer_image, str(source), str(tmp_path / "data"),
                           str(tmp_path / "output"), str(free_port())], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    output = done.stdout + done.stderr
    (tmp_path / "sagemaker-v2.log").write_text(output)
    results = re.findall(r"RESULT (\{.*\})", done.stdout)  # docker-compose's tty may prefix the line
    assert done.returncode == 0 and results, output[-6000:]
    result = json.loads(results[-1])
    assert result["predictor"] == "ChainerPredictor"
    assert result["shape"] == [500, 10]
    assert result["accuracy"] > 0.5, result
    assert result["json_matches"] and result["csv_matches"], result
    assert "test accuracy:" in output  # the script ran in our image under their runner
    assert result["model_data"].startswith("file://") and Path(result["model_data"][7:]).is_file(), result

    distributed = json.loads(re.findall(r"DISTRIBUTED (\{.*\})", done.stdout)[-1])
    assert Path(distributed["model_data"][7:]).is_file(), distributed
    ranks = dict(re.findall(r"\[(\S+) rank \d\] rank (\d) of size 2 on host", output))  # machine -> rank
    assert sorted(ranks.values()) == ["0", "1"], output[-6000:]  # one rank in each of the two containers
    assert output.count("allreduce sum of rank+1 over 2 ranks: 3") == 2, output[-6000:]
