"""Image specs, naming, labels, build-context determinism and base-image choice (no Docker)."""
import importlib.metadata
import io
import re
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

from framework_sdk import image_uris, images
from framework_sdk.images import ImageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11
    import tomli as tomllib


def context_members(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {member.name: (member, tar.extractfile(member).read()) for member in tar.getmembers()}


@pytest.fixture
def project(tmp_path):
    """An installed-looking toolkit (a package folder) and one image folder, to build contexts from."""
    root = tmp_path / "project"
    package = root / "site-packages" / "framework_sdk"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 1\n")
    (package / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"junk")
    folder = root / "images" / "chainer"
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "requirements.txt").write_text("chainer==7.8.1\n")
    (folder / "image.toml").write_text(
        'framework = "chainer"\nversion = "7.8.1"\npython = "3.11"\n'
        '[[pip]]\nrequirements = "requirements.txt"\nargs = ["--no-build-isolation"]\n')
    return root


def toolkit_of(project):
    return images.Toolkit("9.9.9", ("numpy>=1.21", "orjson"), (), project / "site-packages" / "framework_sdk")


def test_specs_are_named_as_image_uris_resolves_them():
    specs = {spec.name: spec for spec in images.image_specs()}
    assert {"chainer", "python"} <= set(specs)
    assert specs["chainer"].tag == image_uris.retrieve("chainer", "7.8.1") == "framework-sdk-chainer:7.8.1-cpu-py3"
    assert specs["python"].tag == image_uris.retrieve("python", "3.11")
    assert images.find_spec("chainer", "7.8.1").name == "chainer"


def test_chainer_estimator_and_model_find_the_image_the_build_tool_tags(aws_stubs, tmp_path):
    from framework_sdk.chainer import Chainer, ChainerModel
    from framework_sdk.local import LocalSession

    (tmp_path / "train.py").write_text("")
    tag = images.find_spec("chainer", "7.8.1").tag
    local = Chainer("train.py", source_dir=str(tmp_path), instance_type="local", instance_count=1,
                    framework_version="7.8.1", sagemaker_session=LocalSession(backend="process"))
    assert local.training_image_uri() == tag
    aws_stubs.sts.add_response("get_caller_identity", {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/x",
                                                       "UserId": "x"})
    on_aws = Chainer("train.py", source_dir=str(tmp_path), role="arn:aws:iam::123456789012:role/R",
                     instance_type="ml.c5.xlarge", instance_count=1, framework_version="7.8.1",
                     sagemaker_session=aws_stubs.session)
    assert on_aws.training_image_uri() == f"123456789012.dkr.ecr.us-west-2.amazonaws.com/{tag}"
    model = ChainerModel("file:///tmp/model.tar.gz", entry_point="train.py", source_dir=str(tmp_path),
                         framework_version="7.8.1", sagemaker_session=LocalSession(backend="process"))
    assert model.serving_image_uri("local") == tag


def test_labels_name_framework_version_python_and_processor():
    labels = images.find_spec("chainer", "7.8.1").labels
    assert labels["org.framework-sdk.framework"] == "chainer"
    assert labels["org.framework-sdk.framework-version"] == "7.8.1"
    assert labels["org.framework-sdk.python-version"] == "3.11"
    assert labels["org.framework-sdk.processor"] == "cpu"
    assert labels["com.amazonaws.sagemaker.capabilities.accept-bind-to-port"] == "true"


def test_unknown_names_and_versions_list_what_exists():
    with pytest.raises(ImageError, match=r"no image folder named nope.*available: .*chainer"):
        images.image_specs(["nope"])
    with pytest.raises(ImageError, match=r"no image definition for chainer 1\.0; available: .*chainer 7\.8\.1"):
        images.find_spec("chainer", "1.0")


def test_image_toml_for_an_unknown_framework_needs_a_fixed_tag(project):
    folder = project / "images" / "chainer"
    (folder / "image.toml").write_text('framework = "caffe"\nversion = "1"\npython = "3.11"\n')
    with pytest.raises(ImageError, match="unknown framework 'caffe'.*fixed `tag`"):
        images.load_spec(folder)
    (folder / "image.toml").write_text('framework = "caffe"\nversion = "1"\npython = "3.11"\ntag = "mine:1"\n')
    assert images.load_spec(folder).tag == "mine:1"


@pytest.mark.parametrize("name", ["chainer", "python"])
def test_dockerfile_runs_the_pip_steps_of_image_toml_in_order(name):
    spec = images.image_specs([name])[0]
    dockerfile = (spec.folder / "Dockerfile").read_text()
    positions = []
    for step in spec.pip_steps:
        line = "RUN python -m pip " + " ".join(step.command("/opt/framework-sdk/requirements"))
        assert line in dockerfile, f"{name}/Dockerfile lacks `{line}`"
        assert f"COPY {step.requirements} /opt/framework-sdk/requirements/" in dockerfile
        positions.append(dockerfile.index(line))
    assert positions == sorted(positions)
    assert f"FRAMEWORK_SDK_FRAMEWORK={spec.framework}" in dockerfile
    # heavy layers first: the toolkit source is copied after every framework step
    assert dockerfile.index("COPY toolkit/ ") > max(positions)


def test_build_context_is_deterministic_and_holds_folder_toolkit_and_ca(project, tmp_path):
    spec = images.load_spec(project / "images" / "chainer")
    toolkit = toolkit_of(project)
    first = images.build_context(spec, toolkit=toolkit)
    (toolkit.package_dir / "__init__.py").touch()  # a new mtime only
    assert images.build_context(spec, toolkit=toolkit) == first
    members = context_members(first)
    assert sorted(members) == ["Dockerfile", "build-ca.pem", "image.toml", "requirements.txt",
                               "toolkit/framework_sdk/__init__.py", "toolkit/pyproject.toml",
                               "toolkit/requirements.txt"]
    assert {(m.mtime, m.uid, m.gid, m.mode) for m, _ in members.values()} == {(images.CONTEXT_MTIME, 0, 0, 0o644)}
    assert members["build-ca.pem"][1] == b""
    assert members["toolkit/requirements.txt"][1] == b"numpy>=1.21\norjson\n"
    assert b'version = "9.9.9"' in members["toolkit/pyproject.toml"][1]

    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n")
    assert context_members(images.build_context(spec, bundle, toolkit=toolkit))["build-ca.pem"][1] == bundle.read_bytes()

    (toolkit.package_dir / "__init__.py").write_text("VALUE = 2\n")
    assert images.build_context(spec, toolkit=toolkit) != first


def test_real_context_ships_the_installed_package_without_bytecode():
    names = context_members(images.build_context(images.find_spec("chainer", "7.8.1")))
    assert "toolkit/framework_sdk/container/__main__.py" in names
    assert "toolkit/framework_sdk/images/chainer/image.toml" in names  # the package data travels too
    assert "toolkit/pyproject.toml" in names
    assert not [name for name in names if name.startswith("toolkit/src/")]  # never the source tree
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc") or ".egg-info" in name]


def test_image_definitions_are_package_data_of_the_installed_package():
    import framework_sdk

    package = Path(framework_sdk.__file__).resolve().parent
    assert images.definitions_dir() == package / "images"
    assert {spec.folder for spec in images.image_specs()} >= {package / "images" / "chainer", package / "images" / "python"}


def test_the_installed_toolkit_is_this_package_with_its_metadata():
    import framework_sdk

    toolkit = images.Toolkit.installed()
    assert toolkit.package_dir == Path(framework_sdk.__file__).resolve().parent
    assert toolkit.version == framework_sdk.__version__ == importlib.metadata.version("framework-sdk")
    assert ("console_scripts", "framework-sdk", "framework_sdk.cli:main") in toolkit.entry_points
    assert any(line.startswith("numpy") for line in toolkit.requirements)
    assert not [line for line in toolkit.requirements if "extra" in line]  # test, typed, ... are extras


def test_the_generated_pyproject_describes_the_installed_distribution():
    toolkit = images.Toolkit.installed()
    project = tomllib.loads(toolkit.pyproject())
    assert project["project"]["name"] == "framework-sdk"
    assert project["project"]["version"] == toolkit.version
    assert project["project"]["dependencies"] == list(toolkit.requirements)
    assert project["project"]["scripts"]["framework-sdk"] == "framework_sdk.cli:main"
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["framework_sdk*"]


def test_two_copies_of_the_same_package_are_the_same_toolkit(project, tmp_path):
    first = toolkit_of(project)
    copy = tmp_path / "elsewhere" / "lib" / "framework_sdk"
    shutil.copytree(first.package_dir, copy)
    second = images.Toolkit(first.version, first.requirements, first.entry_points, copy)
    assert second.digest() == first.digest() and second.files() != first.files()  # same content, other paths
    (copy / "__pycache__" / "more.cpython-311.pyc").write_bytes(b"bytecode is not the toolkit")
    assert second.digest() == first.digest()
    (copy / "__init__.py").write_text("VALUE = 2\n")
    assert second.digest() != first.digest()
    assert images.Toolkit("9.9.10", first.requirements, (), first.package_dir).digest() != first.digest()


def test_dist_info_names_the_distribution_and_records_its_files(project):
    toolkit = images.Toolkit("9.9.9", ("numpy>=1.21",), (("console_scripts", "fsdk", "framework_sdk.cli:main"),),
                             project / "site-packages" / "framework_sdk")
    files = dict(toolkit.dist_info())
    assert files["framework_sdk-9.9.9.dist-info/METADATA"].splitlines()[1:] == [
        "Name: framework-sdk", "Version: 9.9.9", "Requires-Dist: numpy>=1.21"]
    assert files["framework_sdk-9.9.9.dist-info/entry_points.txt"] == "[console_scripts]\nfsdk = framework_sdk.cli:main\n"
    assert "framework_sdk/__init__.py,,\n" in files["framework_sdk-9.9.9.dist-info/RECORD"]


def test_toolkit_requirements_are_the_project_dependencies():
    text = images.toolkit_requirements()
    assert re.search(r"^numpy", text, re.M) and re.search(r"^click", text, re.M)


def test_ca_bundle_comes_from_the_first_variable_set(tmp_path):
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text("a")
    second.write_text("b")
    assert images.ca_bundle({}) is None
    assert images.ca_bundle({"SSL_CERT_FILE": str(second)}) == second
    assert images.ca_bundle({"PIP_CERT": str(first), "REQUESTS_CA_BUNDLE": str(second)}) == first
    with pytest.raises(ImageError, match="PIP_CERT=.*missing.pem names no file"):
        images.ca_bundle({"PIP_CERT": str(tmp_path / "missing.pem")})


class FakeImages:
    """The two calls ensure_base_image makes of docker-py's image collection."""

    def __init__(self, present):
        self.present, self.pulled = set(present), []

    def get(self, name):
        import docker

        if name not in self.present:
            raise docker.errors.ImageNotFound(name)
        return name

    def pull(self, name):
        import docker

        self.pulled.append(name)
        raise docker.errors.APIError("no registry", explanation="lookup registry-1.docker.io: no such host")


class FakeClient:
    def __init__(self, present=()):
        self.images = FakeImages(present)


def test_base_image_prefers_override_then_python_image_then_ours(monkeypatch):
    monkeypatch.delenv(images.BASE_IMAGE_ENV, raising=False)
    assert images.ensure_base_image(FakeClient([images.PYTHON_IMAGE, images.BASE_IMAGE])) == images.PYTHON_IMAGE
    client = FakeClient([images.BASE_IMAGE])
    assert images.ensure_base_image(client) == images.BASE_IMAGE and client.images.pulled == []
    monkeypatch.setenv(images.BASE_IMAGE_ENV, "corp/debian-python:12")
    assert images.ensure_base_image(FakeClient(["corp/debian-python:12"])) == "corp/debian-python:12"
    with pytest.raises(ImageError, match="FRAMEWORK_SDK_BASE_IMAGE=corp/debian-python:12.*cannot pull"):
        images.ensure_base_image(FakeClient())


def test_no_base_and_no_debootstrap_is_an_error_naming_the_fixes(monkeypatch):
    monkeypatch.delenv(images.BASE_IMAGE_ENV, raising=False)
    monkeypatch.setattr(images.base.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(images.base.shutil, "which", lambda name: None)
    client = FakeClient()
    with pytest.raises(ImageError) as caught:
        images.ensure_base_image(client)
    message = str(caught.value)
    assert client.images.pulled == [images.PYTHON_IMAGE]
    assert "could not be pulled: lookup registry-1.docker.io" in message
    assert "must run as root" in message and "apt-get install debootstrap" in message
    assert images.BASE_IMAGE_ENV in message


def test_progress_prints_a_heartbeat_while_a_step_stays_silent(monkeypatch):
    import threading

    monkeypatch.setattr(images.engine, "HEARTBEAT_SECONDS", 0.05)
    lines = []
    with images.engine.Progress(lines.append) as progress:
        progress.step("  Step 10/25 : RUN python -m pip install --no-binary mpi4py -r requirements-mpi.txt")
        progress.line("  Building wheel for mpi4py (pyproject.toml): started\n")
        threading.Event().wait(0.3)  # a silent step: only the heartbeat speaks
    assert lines[0].startswith("  Step 10/25 : RUN")
    beats = [line for line in lines[1:] if "into Step 10/25: Building wheel for mpi4py" in line]
    assert beats and len(beats) == len(lines) - 1
    assert list(progress.tail) == ["  Building wheel for mpi4py (pyproject.toml): started"]
