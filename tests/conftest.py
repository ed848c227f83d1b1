"""Shared test fixtures: the Docker engine gate and temporary /opt/ml trees."""
import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def docker_client():
    """A docker-py client for the engine; skips outside CI when none answers, fails under CI=true."""
    try:
        import docker

        client = docker.from_env(timeout=300)
        client.ping()
    except Exception as error:  # any failure to reach the engine
        message = f"no Docker engine answers ({error}); run scripts/setup_test_host.py as root to start one"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return client


@pytest.fixture(scope="session")
def base_image(docker_client):
    """The local Debian bookworm base image (made with debootstrap when no registry answers)."""
    from framework_sdk.images import ensure_base_image

    return ensure_base_image(docker_client)


@pytest.fixture(scope="session")
def chainer_image(docker_client, base_image):
    """Tag of the chainer framework image, built once per test run (layer cache reused)."""
    from framework_sdk.images import build

    return build(["chainer"], client=docker_client, base_image=base_image)[0].tag


@pytest.fixture(scope="session")
def python_image(docker_client, base_image):
    """Tag of the generic python (script mode) image, built once per test run (layer cache reused)."""
    from framework_sdk.images import build

    return build(["python"], client=docker_client, base_image=base_image)[0].tag


@pytest.fixture(scope="session")
def sklearn_image(docker_client, base_image):
    """Tag of the scikit-learn image, built once per test run (layer cache reused)."""
    from framework_sdk.images import build

    return build(["sklearn"], client=docker_client, base_image=base_image)[0].tag


# ------------------------------------------------------------ AWS client stubs (client SDK)
@pytest.fixture(scope="session")
def _aws_test_clients():
    """Real botocore clients (never sending a request) shared by the Stubber-based unit tests."""
    import boto3

    boto = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                         region_name="us-west-2")
    names = ("sagemaker", "sagemaker-runtime", "s3", "logs", "sts", "ecr")
    return boto, {name: boto.client(name) for name in names}


@pytest.fixture
def aws_stubs(_aws_test_clients):
    """A framework_sdk Session whose clients are wrapped in botocore Stubbers.

    Every request the SDK sends is validated against botocore's own service model; attributes
    ``sagemaker``, ``sagemaker_runtime``, ``s3``, ``logs``, ``sts``, ``ecr`` are the Stubbers, ``session``
    the Session. Unexpected or unstubbed calls fail the test.
    """
    from types import SimpleNamespace

    from botocore.stub import Stubber

    from framework_sdk.session import Session

    boto, clients = _aws_test_clients
    stubbers = {name: Stubber(client) for name, client in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    session = Session(boto_session=boto, sagemaker_client=clients["sagemaker"],
                      sagemaker_runtime_client=clients["sagemaker-runtime"], s3_client=clients["s3"],
                      logs_client=clients["logs"], sts_client=clients["sts"], ecr_client=clients["ecr"])
    yield SimpleNamespace(session=session, clients=clients,
                          **{name.replace("-", "_"): stubber for name, stubber in stubbers.items()})
    for stubber in stubbers.values():
        stubber.deactivate()


# ------------------------------------------------------------ moto's server (AWS over HTTP)
@pytest.fixture(scope="session")
def moto_url():
    """A moto server process on a free loopback port (AWS over HTTP, for tests/integ); its URL."""
    import socket
    import subprocess
    import sys
    import threading

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ready = threading.Event()

    def watch():
        for line in server.stderr:
            if "Running on" in line:
                ready.set()
        ready.set()  # the process ended: stop waiting, the check below reports it

    threading.Thread(target=watch, daemon=True).start()
    if not ready.wait(60) or server.poll() is not None:
        server.kill()
        pytest.fail(f"moto_server did not start on port {port} within 60 s")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()


# Concurrent test runs share the engine: each run uses its own tag on the cached image and removes only
# that tag, plus the cache tag when this run built it (other runs keep the image through their own tags).
_TEST_RUN = f"run{os.getpid()}"
_BUILT_BY_THIS_RUN = set()


def build_test_image(client, folder, repository, base_image):
    """Build ``folder`` as ``repository:<hash of its files>`` unless the engine has it; returns this run's tag.

    The build context gets the pip CA bundle (``PIP_CERT`` ...) as ``pip-ca.crt`` and the base
    image as the ``BASE_IMAGE`` build argument. The returned tag (``<hash>-run<pid>``) belongs
    to this test run alone; :func:`remove_test_image` removes it.
    """
    import hashlib
    import shutil
    import tempfile
    from pathlib import Path

    import docker

    from framework_sdk.images import ca_bundle

    folder = Path(folder)
    digest = hashlib.sha256(base_image.encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    cache_tag, run_tag = f"{repository}:{digest.hexdigest()[:12]}", f"{digest.hexdigest()[:12]}-{_TEST_RUN}"
    for _ in range(2):  # a second try when another run removed the cache tag between our get and tag
        try:
            client.images.get(cache_tag).tag(repository, run_tag)
            return f"{repository}:{run_tag}"
        except docker.errors.ImageNotFound:
            pass
        with tempfile.TemporaryDirectory(prefix="fsdk-test-context-") as context:
            shutil.copytree(folder, context, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
            bundle = ca_bundle()
            if bundle:
                shutil.copyfile(bundle, Path(context) / "pip-ca.crt")
            client.images.build(path=context, tag=cache_tag, buildargs={"BASE_IMAGE": base_image}, rm=True,
                                forcerm=True)
        _BUILT_BY_THIS_RUN.add(cache_tag)
    raise RuntimeError(f"{cache_tag} vanished twice while tagging it for this test run")


@pytest.fixture(scope="session")
def decision_tree_image(docker_client, base_image):
    """The bring-your-own decision-tree example image (examples/byo-decision-trees), built once a run."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "examples" / "byo-decision-trees"
    tag = build_test_image(docker_client, folder, "fsdk-test-byo-decision-trees", base_image)
    yield tag
    if not os.environ.get("FSDK_KEEP_TEST_IMAGES"):
        remove_test_image(docker_client, tag)


@pytest.fixture(scope="session")
def indifferent_image(docker_client, base_image):
    """The conformance tests' image that tells bad input from good in no way (tests/integ/test_conformance_indifferent_image)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent / "integ" / "test_conformance_indifferent_image"
    tag = build_test_image(docker_client, folder, "fsdk-test-conformance-indifferent", base_image)
    yield tag
    remove_test_image(docker_client, tag)


def remove_test_image(client, tag):
    """Remove this run's tag of a test image, and its cache tag when this run built it.

    Without ``force``: a tag another run (or a container) still needs is left to the engine.
    """
    import docker

    repository, _, run_tag = tag.rpartition(":")
    cache_tag = f"{repository}:{run_tag.split('-')[0]}"
    tags = [tag] + ([cache_tag] if cache_tag in _BUILT_BY_THIS_RUN else [])
    for name in tags:
        try:
            client.images.remove(name)
        except docker.errors.APIError:
            pass
