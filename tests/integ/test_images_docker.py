"""The framework images, built for real by the build tool and run in the real engine."""
import textwrap
import time
import uuid

import docker
import pytest

from framework_sdk import images

pytestmark = pytest.mark.docker

PREFIX = f"fsdk-imgtest-{uuid.uuid4().hex[:8]}"
WAIT_SECONDS = 120


def run(client, image, command, **kwargs):
    """Run ``command`` in a fresh container of ``image``; its exit code and output."""
    container = client.containers.run(image, command, detach=True, **kwargs)
    try:
        status = container.wait(timeout=WAIT_SECONDS)
        return status["StatusCode"], container.logs().decode()
    finally:
        container.remove(force=True)


def run_ok(client, image, command, **kwargs):
    code, output = run(client, image, command, **kwargs)
    assert code == 0, output
    return output


TRAIN_TINY_MLP = textwrap.dedent("""
    import chainer, chainer.functions as F, chainer.links as L, numpy as np
    from chainer import optimizers
    rng = np.random.RandomState(0)
    x = rng.randn(256, 8).astype(np.float32)
    t = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    model = L.Classifier(chainer.Sequential(L.Linear(8, 16), F.relu, L.Linear(16, 2)))
    opt = optimizers.Adam(0.05)
    opt.setup(model)
    first = None
    for epoch in range(60):
        model.cleargrads()
        loss = model(x, t)
        loss.backward()
        opt.update()
        first = float(loss.array) if first is None else first
    with chainer.using_config("train", False), chainer.no_backprop_mode():
        accuracy = float(F.accuracy(model.predictor(x), t).array)
    print("chainer", chainer.__version__, "numpy", np.__version__, "loss", first, float(loss.array), "accuracy", accuracy)
    assert np.__version__.startswith("1."), np.__version__
    assert float(loss.array) < first / 2 and accuracy > 0.9
""")


def test_chainer_trains_a_tiny_model_on_cpu(docker_client, chainer_image):
    output = run_ok(docker_client, chainer_image, ["python", "-c", TRAIN_TINY_MLP])
    assert "chainer 7.8.1 numpy 1." in output


def test_chainer_image_has_open_mpi_mpi4py_and_the_toolkit_commands(docker_client, chainer_image):
    script = ("python -c 'import mpi4py.MPI as m; print(m.Get_library_version())'"
              " && command -v train && command -v serve && echo framework=$FRAMEWORK_SDK_FRAMEWORK"
              " && python -c 'import framework_sdk.container.__main__ as m; print(m.USAGE)'"
              " && (serve --no-such-option; true)")
    output = run_ok(docker_client, chainer_image, ["sh", "-c", script])
    assert "Open MPI" in output
    assert "/usr/local/bin/train" in output and "/usr/local/bin/serve" in output
    assert "framework=chainer" in output
    assert "python -m framework_sdk.container train|serve" in output


def test_python_image_has_numpy_scikit_learn_and_the_toolkit(docker_client, python_image):
    script = ("python -c 'import numpy, sklearn.linear_model as lm, framework_sdk.container;"
              " x = numpy.arange(10.0).reshape(-1, 1); m = lm.LinearRegression().fit(x, x[:, 0] * 3 + 1);"
              " print(numpy.__version__, round(float(m.coef_[0]), 3), round(float(m.intercept_), 3))'"
              " && command -v train && command -v serve && echo framework=$FRAMEWORK_SDK_FRAMEWORK")
    output = run_ok(docker_client, python_image, ["sh", "-c", script])
    assert " 3.0 1.0\n" in output
    assert "/usr/local/bin/train" in output and "/usr/local/bin/serve" in output and "framework=python" in output


def test_labels_and_sizes(docker_client, chainer_image, python_image):
    for tag, framework, version in ((chainer_image, "chainer", "7.8.1"), (python_image, "python", "3.11")):
        labels = docker_client.images.get(tag).labels
        assert labels["org.framework-sdk.framework"] == framework
        assert labels["org.framework-sdk.framework-version"] == version
        assert labels["org.framework-sdk.processor"] == "cpu"
        actual = run_ok(docker_client, tag, ["python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        assert labels["org.framework-sdk.python-version"] == actual.strip()
    listed = {info.tag: info for info in images.list_images(docker_client)}
    assert listed[chainer_image].framework == "chainer" and listed[python_image].version == "3.11"
    assert listed[chainer_image].size < 1.5e9, f"chainer image is {listed[chainer_image].size_mb:.0f} MB"


def test_second_build_with_unchanged_inputs_is_cached(docker_client, chainer_image, base_image):
    first_id = docker_client.images.get(chainer_image).id
    started = time.monotonic()
    [result] = images.build(["chainer"], client=docker_client, base_image=base_image, progress=lambda line: None)
    elapsed = time.monotonic() - started
    assert result.image_id == first_id
    assert result.cached_steps >= result.steps - 2, result  # at most FROM and the label step are not "cached"
    assert elapsed < 30, f"a cached build took {elapsed:.1f} s"


@pytest.fixture
def network(docker_client):
    net = docker_client.networks.create(f"{PREFIX}-net", driver="bridge")
    yield net
    net.remove()


def test_two_containers_ssh_and_mpirun_across_hosts(docker_client, chainer_image, network):
    hosts = []
    try:
        for host in ("algo-1", "algo-2"):
            hosts.append(docker_client.containers.run(
                chainer_image, ["/usr/sbin/sshd", "-D", "-e"], detach=True, name=f"{PREFIX}-{host}",
                hostname=host, network=network.name))
        first = hosts[0]
        deadline, delay = time.monotonic() + 30, 0.1
        while True:  # sshd in algo-2 answers once it has started: retry with a short backoff, bounded
            code, output = first.exec_run(["ssh", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes", "algo-2", "hostname"])
            if code == 0 or time.monotonic() > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        assert code == 0 and output.decode().strip() == "algo-2", output.decode()

        allreduce = ("import socket, chainermn; from mpi4py import MPI; c = MPI.COMM_WORLD;"
                     " mn = chainermn.create_communicator('naive');"
                     " print('rank', c.Get_rank(), 'of', c.Get_size(), 'on', socket.gethostname(),"
                     " 'sum', c.allreduce(c.Get_rank() + 1), 'mn', mn.allreduce_obj(10 * (mn.rank + 1)))")
        code, output = first.exec_run(["mpirun", "--host", "algo-1,algo-2", "-np", "2", "python", "-c", allreduce])
        text = output.decode()
        assert code == 0, text
        assert "rank 0 of 2 on algo-1 sum 3 mn 30" in text
        assert "rank 1 of 2 on algo-2 sum 3 mn 30" in text
    finally:
        for container in hosts:
            container.remove(force=True)


def test_ca_bundle_reaches_pip_in_the_build(docker_client, base_image, tmp_path):
    folder = tmp_path / "catest"
    folder.mkdir()
    (folder / "requirements.txt").write_text("six==1.16.0\n")
    (folder / "image.toml").write_text(f'framework = "python"\nversion = "3.11"\npython = "3.11"\n'
                                       f'tag = "{PREFIX}-ca:latest"\n')
    (folder / "Dockerfile").write_text(textwrap.dedent("""
        ARG BASE_IMAGE
        FROM ${BASE_IMAGE}
        COPY build-ca.pem /usr/local/share/framework-sdk/build-ca.pem
        ARG PIP_CERT
        RUN echo "PIP_CERT=${PIP_CERT-unset}" > /pip-cert.txt \\
         && if [ -n "$PIP_CERT" ]; then python3 -m venv /v && /v/bin/pip download --no-deps -d /w six==1.16.0; fi
    """))
    bundle = images.ca_bundle()
    if bundle is None:
        pytest.skip("no CA bundle named by PIP_CERT, REQUESTS_CA_BUNDLE or SSL_CERT_FILE here")
    tag = f"{PREFIX}-ca:latest"
    try:
        [with_ca] = images.build(client=docker_client, base_image=base_image, folder=tmp_path, progress=lambda line: None)
        output = run_ok(docker_client, tag, ["sh", "-c", "cat /pip-cert.txt; ls /w; cat /usr/local/share/framework-sdk/build-ca.pem"])
        assert f"PIP_CERT={images.CA_BUNDLE_IN_IMAGE}" in output
        assert "six-1.16.0-py2.py3-none-any.whl" in output
        assert bundle.read_text() in output

        [without_ca] = images.build(client=docker_client, base_image=base_image, folder=tmp_path,
                                    progress=lambda line: None, ca_bundle_path=False)
        assert run_ok(docker_client, tag, ["cat", "/pip-cert.txt"]).strip() == "PIP_CERT=unset"
        with pytest.raises(docker.errors.ImageNotFound):  # the rebuild removed the image it replaced
            docker_client.images.get(with_ca.image_id)
        assert without_ca.image_id != with_ca.image_id
    finally:
        docker_client.images.remove(tag, force=True)
