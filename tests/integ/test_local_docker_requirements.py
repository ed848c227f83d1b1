"""The docker backend installs a framework job's ``requirements.txt`` once, into a derived image it reuses.

Runs script mode on the python framework image with a small requirement from PyPI
(``text-unidecode``); the requirements file carries a token unique to this run, so the first
fit really builds the derived image, which the test removes at the end.
"""
import time
import uuid

import pytest

from framework_sdk import LocalSession
from framework_sdk.estimator import Framework
from framework_sdk.exceptions import UnexpectedStatusException
from framework_sdk.local import requirement_images
from framework_sdk.local.backends.docker import LABEL
from framework_sdk.model import FrameworkModel
from framework_sdk.serializers import CSVDeserializer, CSVSerializer

pytestmark = pytest.mark.docker

TRAIN = '''
import os, text_unidecode
print("unidecoded:", text_unidecode.unidecode("café"), flush=True)
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write("ok")
'''
INFERENCE = '''
import text_unidecode

def model_fn(model_dir):
    return text_unidecode.unidecode

def predict_fn(data, model):
    return [[float(model("é") == "e")] for _ in data]  # 1.0: the package is there
'''


class ScriptModel(FrameworkModel):
    _framework_name = "python"


class Script(Framework):
    _framework_name = "python"
    model_cls = ScriptModel


@pytest.fixture
def work(tmp_path, python_image, docker_client):
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    (code / "inference.py").write_text(INFERENCE)
    (code / "requirements.txt").write_text(f"# fsdk-test {uuid.uuid4().hex}\ntext-unidecode==1.3\n")
    yield tmp_path
    for image in docker_client.images.list(filters={"label": requirement_images.LABEL_OF}):
        if any(tag.startswith(requirement_images.REPOSITORY) for tag in image.tags) and \
                image.id == _derived_id(docker_client, python_image, code / "requirements.txt"):
            docker_client.images.remove(image.id, force=True)


def _derived_id(docker_client, image, requirements):
    tag = requirement_images.tag_for(docker_client.images.get(image).id, requirements.read_bytes())
    try:
        return docker_client.images.get(tag).id
    except Exception:
        return None


@pytest.fixture
def session(docker_client):
    session = LocalSession(backend="docker", docker_client=docker_client)
    yield session
    session.close()
    assert [c.name for c in docker_client.containers.list(all=True, filters={"label": LABEL})
            if "fsdk-test-requirements" in c.name] == []


def script(session, work):
    return Script("train.py", source_dir=str(work / "code"), framework_version="3.11", instance_type="local",
                  instance_count=1, sagemaker_session=session, output_path=f"file://{work}/models",
                  base_job_name="fsdk-test-requirements")


def test_requirements_are_installed_once_into_a_reused_image(session, work, python_image, docker_client,
                                                             capsys):
    tag = requirement_images.tag_for(docker_client.images.get(python_image).id,
                                     (work / "code" / "requirements.txt").read_bytes())
    started = time.monotonic()
    first = script(session, work)
    first.fit()
    first_seconds = time.monotonic() - started
    out = capsys.readouterr().out
    assert "Successfully installed text-unidecode-1.3" in out  # pip ran, while building the image
    assert "unidecoded: cafe" in out
    derived = docker_client.images.get(tag)

    started = time.monotonic()
    second = script(session, work)
    second.fit()
    second_seconds = time.monotonic() - started
    out = capsys.readouterr().out
    assert "unidecoded: cafe" in out
    assert "Collecting" not in out and "Successfully installed" not in out and "pip install" not in out
    assert f"already installed in {tag} (reused)" in out
    assert docker_client.images.get(tag).id == derived.id
    assert second_seconds < first_seconds, (first_seconds, second_seconds)
    assert second.describe()["AlgorithmSpecification"]["TrainingImage"] == python_image

    # The endpoint of the same code runs on the same derived image: nothing is installed either.
    model = second.create_model(entry_point="inference.py", source_dir=str(work / "code"))
    predictor = model.deploy(initial_instance_count=1, instance_type="local",
                             serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        assert [[float(v) for v in row] for row in predictor.predict([[1]])] == [[1.0]]
        endpoint = session.local_endpoint(predictor.endpoint_name)
        assert endpoint.servers.run_image == tag
        assert not any("Successfully installed" in line for line in endpoint.logs.lines)
    finally:
        predictor.delete_endpoint()


def test_a_failing_install_fails_the_job_with_pips_error(session, work, python_image):
    (work / "code" / "requirements.txt").write_text(
        f"# fsdk-test {uuid.uuid4().hex}\nfsdk-no-such-package-anywhere==0.0.1\n")
    with pytest.raises(UnexpectedStatusException) as failure:
        script(session, work).fit(logs=False)
    message = str(failure.value)
    assert message.startswith("local training job 'fsdk-test-requirements-")
    assert "pip could not install" in message and "requirements.txt" in message
    assert "fsdk-no-such-package-anywhere" in message
    assert "No matching distribution found" in message or "Could not find a version" in message


def test_requirement_images_of_an_older_image_are_pruned(python_image, docker_client, tmp_path):
    import io

    from docker.errors import ImageNotFound

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy\n")  # already in the image: pip needs no index

    def rebuild(version):
        dockerfile = f"FROM {python_image}\nLABEL fsdk-test-version={version}\n".encode()
        return docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag="fsdk-test-requirements-base:1",
                                          rm=True)[0].id

    first_base = rebuild(uuid.uuid4().hex)
    first = requirement_images.ensure(docker_client, "fsdk-test-requirements-base:1", requirements)
    assert requirement_images.ensure(docker_client, "fsdk-test-requirements-base:1", requirements) == first
    second_base, second = rebuild(uuid.uuid4().hex), None
    try:
        second = requirement_images.ensure(docker_client, "fsdk-test-requirements-base:1", requirements)
        assert second != first
        for gone in (first, first_base):  # the stale requirement image and the base it was built on
            with pytest.raises(ImageNotFound):
                docker_client.images.get(gone)
        assert docker_client.images.get(second).labels[requirement_images.LABEL_BASE_ID] == second_base
    finally:
        for image in (second, second_base):
            if image:
                docker_client.images.remove(image, force=True)


HIJACK = '''import sys

def main():  # its console scripts `train` and `serve`, as sagemaker-containers installs them
    print("the requirement's own entry point ran", flush=True)
    sys.exit(3)
'''


@pytest.fixture(params=["python_image", "chainer_image"])
def hijacking_requirement(request, tmp_path, docker_client):
    """A framework image holding a wheel (at a path inside the image) that installs ``train`` and
    ``serve`` console scripts, and a code folder whose ``requirements.txt`` names it."""
    import io
    import tarfile

    from wheels import write_wheel

    framework_image = request.getfixturevalue(request.param)
    wheel = write_wheel(tmp_path, "fsdk-test-hijack", {"fsdk_test_hijack": HIJACK},
                        scripts={"train": "fsdk_test_hijack:main", "serve": "fsdk_test_hijack:main"})
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = f"FROM {framework_image}\nCOPY {wheel.name} /opt/fsdk-test-wheels/\n".encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        tar.add(wheel, arcname=wheel.name)
    tag = f"fsdk-test-requirements-hijack:{uuid.uuid4().hex[:12]}"
    docker_client.images.build(fileobj=io.BytesIO(context.getvalue()), custom_context=True, tag=tag, rm=True)
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text('print("the toolkit ran train.py", flush=True)\n')
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return None\n\n"
                                       "def predict_fn(data, model):\n    return [[2.0] for _ in data]\n")
    (code / "requirements.txt").write_text(f"/opt/fsdk-test-wheels/{wheel.name}\n")
    derived = requirement_images.tag_for(docker_client.images.get(tag).id, (code / "requirements.txt").read_bytes())
    yield tag, code
    for image in (derived, tag):
        try:
            docker_client.images.remove(image, force=True)
        except Exception:
            pass


def test_a_requirement_never_replaces_the_containers_train_and_serve(session, hijacking_requirement, tmp_path,
                                                                      capsys):
    image, code = hijacking_requirement
    trainer = Script("train.py", source_dir=str(code), image_uri=image, instance_type="local", instance_count=1,
                     sagemaker_session=session, output_path=f"file://{tmp_path}/models",
                     base_job_name="fsdk-test-requirements")
    trainer.fit()
    out = capsys.readouterr().out
    assert "Successfully installed fsdk-test-hijack-1.0" in out  # its console scripts are in the venv's bin
    assert "the toolkit ran train.py" in out and "the requirement's own entry point ran" not in out
    predictor = trainer.create_model(entry_point="inference.py", source_dir=str(code)).deploy(
        initial_instance_count=1, instance_type="local", serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        assert predictor.predict([[1]]) == [["2.0"]]
    finally:
        predictor.delete_endpoint()
