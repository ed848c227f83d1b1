"""`framework-sdk images push` for real: the engine pushes to Debian's `docker-registry` (the Docker
registry v2 API, the registry that ECR and others speak) on a free loopback port, started and stopped
here with its own config and storage; ECR's side runs over moto's server.

moto answers DescribeRepositories, CreateRepository and GetAuthorizationToken (its token decodes to
``AWS:<account>-auth-token``) but serves no registry. So the registry that gets the ECR-path push is
the loopback one, configured with htpasswd to accept exactly the credentials decoded from moto's token:
the push is refused without them and accepted with them. The engine (dockerd) allows plain HTTP to
127.0.0.0/8 registries.
"""
import base64
import io
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid

import docker
import pytest

from framework_sdk import image_uris, images
from framework_sdk.chainer import Chainer
from framework_sdk.exceptions import ConfigurationError
from framework_sdk.images import PushError, Registry
from framework_sdk.session import Session

from conftest import IN_CI

pytestmark = pytest.mark.docker

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
CHAINER_REPOSITORY, CHAINER_TAG = "framework-sdk-chainer", "7.8.1-cpu-py3"
MANIFEST_TYPES = ("application/vnd.docker.distribution.manifest.v2+json, "
                  "application/vnd.oci.image.manifest.v1+json")
# The registry's access log: a blob upload starts with POST .../blobs/uploads/ (the engine then PATCHes and PUTs it).
BLOB_UPLOAD = re.compile(r'"POST /v2/\S+/blobs/uploads/')


def _need(program, package):
    if shutil.which(program) is None:
        message = f"{program} is not installed (apt-get install {package}; scripts/setup_test_host.py does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


class LoopbackRegistry:
    """`docker-registry serve` on a free 127.0.0.1 port, its config, storage and log in ``folder``.

    With ``credentials`` (user, password) it takes HTTP basic auth from an htpasswd file (bcrypt,
    made by apache2-utils' `htpasswd`), as a private registry does; without, anyone may push.
    """

    def __init__(self, folder, credentials=None):
        _need("docker-registry", "docker-registry")
        self.folder, self.credentials = folder, credentials
        folder.mkdir(parents=True, exist_ok=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.log_path = folder / "registry.log"
        config = [
            "version: 0.1",
            "log: {level: info}",
            f"storage: {{filesystem: {{rootdirectory: {folder / 'storage'}}}, delete: {{enabled: true}}}}",
            f"http: {{addr: '{self.host}', secret: '{secrets.token_hex(16)}'}}",
        ]
        if credentials:
            _need("htpasswd", "apache2-utils")
            user, password = credentials
            made = subprocess.run(["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True)
            (folder / "htpasswd").write_text(made.stdout)
            config.append(f"auth: {{htpasswd: {{realm: framework-sdk-test, path: {folder / 'htpasswd'}}}}}")
        (folder / "config.yml").write_text("\n".join(config) + "\n")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(["docker-registry", "serve", str(folder / "config.yml")],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_until_it_answers(30)

    def _wait_until_it_answers(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2).close()
                return
            except urllib.error.HTTPError as error:  # 401: up, and wants credentials
                if error.code == 401:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"docker-registry did not answer on {self.host} within {seconds} s:\n{self.log_path.read_text()}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def log_size(self):
        self.log.flush()
        return self.log_path.stat().st_size

    def blob_uploads_since(self, offset):
        """How many blob uploads the registry began after log position ``offset``."""
        with open(self.log_path) as log:
            log.seek(offset)
            return len(BLOB_UPLOAD.findall(log.read()))

    def manifest_digest(self, repository, tag):
        """The digest the registry serves for ``repository:tag`` (its Docker-Content-Digest header)."""
        request = urllib.request.Request(f"http://{self.host}/v2/{repository}/manifests/{tag}", method="HEAD",
                                         headers={"Accept": MANIFEST_TYPES})
        if self.credentials:
            token = base64.b64encode(":".join(self.credentials).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["Docker-Content-Digest"]


@pytest.fixture(scope="module")
def open_registry(tmp_path_factory):
    registry = LoopbackRegistry(tmp_path_factory.mktemp("registry-open"))
    yield registry
    registry.stop()


@pytest.fixture(scope="module")
def moto_session(moto_url):
    """An AWS Session whose clients (ECR and STS included) talk HTTP to moto's server."""
    import boto3

    boto = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    clients = {name: boto.client(name, endpoint_url=moto_url) for name in ("sagemaker", "s3", "sts", "ecr")}
    return Session(boto_session=boto, sagemaker_client=clients["sagemaker"], s3_client=clients["s3"],
                   sts_client=clients["sts"], ecr_client=clients["ecr"])


@pytest.fixture(scope="module")
def ecr_over_moto(moto_session):
    """The ECR registry of moto's account, with the chainer repository made and the credentials of moto's token."""
    return images.ecr_registry(moto_session, [CHAINER_REPOSITORY])


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory, ecr_over_moto):
    """A loopback registry that accepts only the user and password decoded from moto's ECR token."""
    credentials = (ecr_over_moto.auth_config["username"], ecr_over_moto.auth_config["password"])
    registry = LoopbackRegistry(tmp_path_factory.mktemp("registry-token"), credentials)
    yield registry
    registry.stop()


@pytest.fixture
def tiny_image(docker_client):
    """A unique one-layer image (FROM scratch, a random file), removed afterwards with every tag it got."""
    repository = f"fsdk-push-test-{uuid.uuid4().hex[:8]}"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM scratch\nCOPY payload /payload\n"),
                           ("payload", secrets.token_bytes(256 * 1024))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    image, _ = docker_client.images.build(fileobj=io.BytesIO(context.getvalue()), custom_context=True,
                                          tag=f"{repository}:1", rm=True)
    yield f"{repository}:1"
    for candidate in docker_client.images.list():
        for tag in candidate.tags:
            if repository in tag:
                docker_client.images.remove(tag, noprune=False)


def framework_sdk_cli(*arguments, env=None):
    command = [os.path.join(os.path.dirname(sys.executable), "framework-sdk"), *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)


def _push_chainer_twice(docker_client, chainer_image, registry, env):
    """`framework-sdk images push chainer --registry` twice: (run, seconds, blob uploads) each, the image id
    pushed, and whether the chainer tag still names that image (the engine is shared: another checkout may
    rebuild the image meanwhile)."""
    image_id = docker_client.images.get(chainer_image).id
    runs = []
    for _ in range(2):
        log_offset, started = registry.log_size(), time.monotonic()
        run = framework_sdk_cli("images", "push", "chainer", "--registry", registry.host, env=env)
        runs.append((run, time.monotonic() - started, registry.blob_uploads_since(log_offset)))
    return runs, image_id, docker_client.images.get(chainer_image).id == image_id


def test_chainer_pushed_with_the_cli_is_pulled_back_identical_and_a_second_push_uploads_nothing(
        docker_client, chainer_image, open_registry, tmp_path):
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker-config")}  # the user's Docker configuration
    for _ in range(3):
        runs, image_id, same = _push_chainer_twice(docker_client, chainer_image, open_registry, env)
        if same:
            break
    else:
        pytest.fail(f"{chainer_image} was rebuilt by someone else during each of 3 attempts; rerun the test")
    (first, first_seconds, first_uploads), (second, second_seconds, second_uploads) = runs
    assert first.returncode == 0, first.stderr
    uri = f"{open_registry.host}/{CHAINER_REPOSITORY}:{CHAINER_TAG}"
    line = first.stdout.strip()
    assert line.startswith(f"{uri}  sha256:") and "layers uploaded" in line, line
    assert first_uploads > 0
    digest = line.split()[1]
    assert first.stderr == ""  # not a terminal: no progress lines
    assert not (tmp_path / "docker-config").exists()  # no `docker login`: nothing written
    with pytest.raises(docker.errors.ImageNotFound):  # the push tag was removed again
        docker_client.images.get(uri)

    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"{uri}  {digest}  (nothing uploaded: the registry had all "), second.stdout
    assert second_uploads == 0
    assert open_registry.manifest_digest(CHAINER_REPOSITORY, CHAINER_TAG) == digest

    try:
        pulled = docker_client.images.pull(f"{open_registry.host}/{CHAINER_REPOSITORY}", tag=CHAINER_TAG)
        assert pulled.id == image_id
    finally:
        docker_client.images.remove(uri)
    print(f"push of {chainer_image} to {open_registry.host}: first {first_seconds:.1f} s, "
          f"second {second_seconds:.1f} s")


def test_a_pushed_image_removed_locally_comes_back_identical_from_the_registry(
        docker_client, tiny_image, open_registry):
    image_id = docker_client.images.get(tiny_image).id
    log_offset = open_registry.log_size()
    [result] = images.push(tiny_image, registry=open_registry.host)
    assert (result.layers, result.layers_pushed) == (1, 1) and result.uncompressed_bytes > 256 * 1024
    assert open_registry.blob_uploads_since(log_offset) == 2  # the layer and the image config
    docker_client.images.remove(tiny_image)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(image_id)
    pulled = docker_client.images.pull(result.uri)  # every byte comes from the registry
    assert pulled.id == image_id
    assert open_registry.manifest_digest(*result.uri.split("/", 1)[1].split(":")) == result.digest


def test_a_missing_local_image_says_how_to_get_it(docker_client, open_registry):
    with pytest.raises(PushError, match=r"no local image framework-sdk-chainer:0\.0-nothing to push: build it"):
        images.push("framework-sdk-chainer:0.0-nothing", registry=open_registry.host)


def test_the_progress_names_every_layer(docker_client, tiny_image, open_registry):
    lines = []
    [result] = images.push(tiny_image, registry=open_registry.host, repository_prefix="team/a", progress=lines.append)
    assert result.uri == f"{open_registry.host}/team/a/{tiny_image}"
    assert lines[0] == f"Pushing {tiny_image} to {result.uri}"
    assert re.fullmatch(r"  [0-9a-f]{12}: uploaded \([0-9.]+ kB uncompressed\)", lines[1]) and len(lines) == 2
    lines.clear()
    [again] = images.push(tiny_image, registry=open_registry.host, repository_prefix="team/a", progress=lines.append)
    assert re.fullmatch(r"  [0-9a-f]{12}: in the registry already", lines[1]) and len(lines) == 2
    assert again.summary() == "nothing uploaded: the registry had all 1 layer already"


# ------------------------------------------------------------------------ ECR's side, over moto's server


def test_ecr_repository_is_made_with_mutable_tags_and_no_scan_on_push(moto_session, ecr_over_moto):
    [repository] = moto_session.ecr_client.describe_repositories(repositoryNames=[CHAINER_REPOSITORY])["repositories"]
    assert repository["imageTagMutability"] == "MUTABLE"
    assert repository["imageScanningConfiguration"]["scanOnPush"] is False
    assert repository["repositoryUri"] == f"{ecr_over_moto.host}/{CHAINER_REPOSITORY}"
    assert ecr_over_moto.host == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    assert ecr_over_moto.auth_config == {"username": "AWS", "password": f"{ACCOUNT}-auth-token"}
    again = images.ecr_registry(moto_session, [CHAINER_REPOSITORY])  # exists now: described, not created again
    assert again == ecr_over_moto


def test_the_push_needs_and_uses_the_credentials_decoded_from_the_ecr_token(
        docker_client, tiny_image, token_registry, ecr_over_moto, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    client = docker.from_env(timeout=300)  # reads DOCKER_CONFIG: no credentials of anyone's
    with pytest.raises(PushError, match=r"no basic auth credentials -> 127\.0\.0\.1:\d+ wants credentials: "
                                        r"`docker login 127\.0\.0\.1:\d+` once"):
        images.push(tiny_image, registry=token_registry.host, client=client)
    with pytest.raises(PushError, match="unauthorized: authentication required"):
        images.push(tiny_image, registry=Registry(token_registry.host, {"username": "AWS", "password": "wrong"}),
                    client=client)
    with_token = Registry(token_registry.host, ecr_over_moto.auth_config)
    [result] = images.push(tiny_image, registry=with_token, client=client)
    assert result.layers_pushed == 1
    assert token_registry.manifest_digest(*result.uri.split("/", 1)[1].split(":")) == result.digest
    image_id = client.images.get(tiny_image).id
    client.images.remove(tiny_image)
    assert client.images.pull(result.uri, auth_config=dict(ecr_over_moto.auth_config)).id == image_id
    assert not (tmp_path / "docker-config").exists()


def test_the_uri_pushed_is_the_training_image_that_create_training_job_sends(
        docker_client, chainer_image, token_registry, ecr_over_moto, moto_session, tmp_path):
    # The ECR path with the registry's host alone swapped for the loopback one (moto serves no registry).
    [result] = images.push("chainer", registry=Registry(token_registry.host, ecr_over_moto.auth_config))
    assert result.uri == f"{token_registry.host}/{CHAINER_REPOSITORY}:{CHAINER_TAG}"
    on_ecr = ecr_over_moto.image_uri(*result.uri.split("/", 1)[1].split(":"))

    (tmp_path / "train.py").write_text("print('training')\n")
    estimator = Chainer(entry_point="train.py", source_dir=str(tmp_path), role=ROLE, instance_count=1,
                        instance_type="ml.c5.xlarge", framework_version="7.8.1", sagemaker_session=moto_session)
    estimator.fit("s3://whatever/train", wait=False)
    sent = moto_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    training_image = sent["AlgorithmSpecification"]["TrainingImage"]
    assert training_image == on_ecr == image_uris.retrieve("chainer", "7.8.1", instance_type="ml.c5.xlarge",
                                                           region=REGION, account=ACCOUNT)
    assert token_registry.manifest_digest(CHAINER_REPOSITORY, CHAINER_TAG) == result.digest


def test_push_to_ecr_in_one_call_over_moto_goes_to_the_training_image_uri(docker_client, python_image, moto_session):
    # Everything up to the upload runs: STS, DescribeRepositories, CreateRepository, GetAuthorizationToken
    # (moto), then the engine's push to ECR's host, which this machine cannot reach (no such host).
    with pytest.raises(PushError) as failure:
        images.push("python", session=moto_session)
    uri = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/framework-sdk-python:3.11-cpu-py3"
    assert f"pushing framework-sdk-python:3.11-cpu-py3 to {uri} failed: " in str(failure.value)
    assert uri == image_uris.retrieve("python", "3.11", region=REGION, account=ACCOUNT)
    assert moto_session.ecr_client.describe_repositories(repositoryNames=["framework-sdk-python"])["repositories"]
    with pytest.raises(docker.errors.ImageNotFound):  # the push tag was removed again
        docker_client.images.get(uri)


def test_an_image_named_for_another_region_is_refused_before_any_upload(docker_client, tiny_image, moto_session):
    elsewhere = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{tiny_image}"
    repository, tag = elsewhere.rsplit(":", 1)
    docker_client.images.get(tiny_image).tag(repository, tag)
    with pytest.raises(ConfigurationError, match=rf"region mismatch: {re.escape(elsewhere)} names the ECR registry of "
                                                rf"account {ACCOUNT} in eu-west-1, but this session pushes to "
                                                rf"{ACCOUNT}\.dkr\.ecr\.{REGION}\.amazonaws\.com"):
        images.push(elsewhere, session=moto_session)
    with pytest.raises(Exception, match="RepositoryNotFoundException"):  # no repository was made for it
        moto_session.ecr_client.describe_repositories(repositoryNames=[tiny_image.split(":")[0]])
