"""Local endpoints install the inference code's requirements once through the backend (a cached layer
on the process backend, a derived image on the docker backend), found where the model server would look;
no processes are started."""
import io
import tarfile

import pytest

from framework_sdk.local.backends.base import Backend
from framework_sdk.local.serving import ModelServers


class LayeredBackend(Backend):
    """Records ``requirements_layer`` calls; answers as the process backend does."""

    name = "process"

    def __init__(self):
        self.layered = []

    def base_dir(self, spec):
        return str(spec.root)

    def requirements_layer(self, image, requirements_file, on_line=None):
        self.layered.append((image, requirements_file.read_text()))
        return f"{image} (with the requirements layer /layer/bin/python)", {"FRAMEWORK_SDK_REQUIREMENTS_INSTALLED": "1"}


class ImageBuildingBackend(LayeredBackend):
    """Answers as the docker backend does for a framework image: another image to run, no PYTHONPATH."""

    name = "docker"

    def base_dir(self, spec):
        return "/opt/ml"

    def requirements_layer(self, image, requirements_file, on_line=None):
        self.layered.append((image, requirements_file.read_text()))
        return "framework-sdk-requirements:0123456789abcdef", {"FRAMEWORK_SDK_REQUIREMENTS_INSTALLED": "1"}


class FakeStorage:
    """``fetch`` of an ``s3://`` code archive writes ``sourcedir.tar.gz`` into the destination."""

    def __init__(self, archive):
        self.archive = archive

    def fetch(self, uri, destination):
        destination.mkdir(parents=True)
        (destination / "sourcedir.tar.gz").write_bytes(self.archive)
        return destination


def code_archive(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def servers(tmp_path, environment, storage=None, backend=None):
    model = {"ModelName": "m", "PrimaryContainer": {"Image": "framework-sdk-python:3.11-cpu-py3",
                                                    "Environment": environment}}
    made = ModelServers("m", model, 1, backend or LayeredBackend(), storage)
    made.root = tmp_path / "root"
    made.root.mkdir()
    return made


def test_requirements_of_the_submitted_folder_go_into_a_layer(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "requirements.txt").write_text("six\n")
    made = servers(tmp_path, {"SAGEMAKER_SUBMIT_DIRECTORY": f"file://{code}", "PYTHONPATH": "/mine"})
    spec = made._spec("algo-1", 1, None, 8080)
    assert made.backend.layered == [("framework-sdk-python:3.11-cpu-py3", "six\n")]
    assert made.run_image == "framework-sdk-python:3.11-cpu-py3 (with the requirements layer /layer/bin/python)"
    assert spec.environment["PYTHONPATH"] == "/mine"  # the layer is another python, never on PYTHONPATH
    assert spec.environment["FRAMEWORK_SDK_REQUIREMENTS_INSTALLED"] == "1"
    made._spec("algo-2", 2, None, 8081)
    assert len(made.backend.layered) == 1  # once per endpoint, not per instance


def test_code_inside_the_model_wins_as_in_the_model_server(tmp_path):
    model_dir = tmp_path / "model"
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "code" / "requirements.txt").write_text("bundled\n")
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    (submitted / "requirements.txt").write_text("submitted\n")
    made = servers(tmp_path, {"SAGEMAKER_SUBMIT_DIRECTORY": f"file://{submitted}"})
    made._spec("algo-1", 1, model_dir, 8080)
    assert [text for _, text in made.backend.layered] == ["bundled\n"]


@pytest.mark.parametrize("where", ["file", "s3"])
def test_requirements_of_a_code_archive_local_or_on_s3(tmp_path, where):
    archive = code_archive({"inference.py": "", "requirements.txt": "from-archive\n"})
    if where == "file":
        (tmp_path / "sourcedir.tar.gz").write_bytes(archive)
        made = servers(tmp_path, {"SAGEMAKER_SUBMIT_DIRECTORY": f"file://{tmp_path}/sourcedir.tar.gz"})
    else:
        made = servers(tmp_path, {"SAGEMAKER_SUBMIT_DIRECTORY": "s3://bucket/code/sourcedir.tar.gz"},
                       storage=FakeStorage(archive))
    spec = made._spec("algo-1", 1, None, 8080)
    assert [text for _, text in made.backend.layered] == ["from-archive\n"]
    assert spec.environment["SAGEMAKER_SUBMIT_DIRECTORY"] == f"{spec.root}/code-archive/sourcedir.tar.gz"


def test_docker_runs_the_derived_image_and_the_toolkit_skips_pip(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "requirements.txt").write_text("six\n")
    made = servers(tmp_path, {"SAGEMAKER_SUBMIT_DIRECTORY": f"file://{code}", "PYTHONPATH": "/mine"},
                   backend=ImageBuildingBackend())
    spec = made._spec("algo-1", 1, None, 8080)
    assert made.run_image == "framework-sdk-requirements:0123456789abcdef"
    assert made.image == "framework-sdk-python:3.11-cpu-py3"  # what the endpoint describes
    assert spec.environment["FRAMEWORK_SDK_REQUIREMENTS_INSTALLED"] == "1"
    assert spec.environment["PYTHONPATH"] == "/mine"
    assert spec.environment["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/code"


def test_no_layer_for_projects_for_no_requirements_or_for_byo_images(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "requirements.txt").write_text("six\n")
    (code / "setup.py").write_text("")  # a project: the server pip-installs the folder itself
    made = servers(tmp_path, {"SAGEMAKER_SUBMIT_DIRECTORY": f"file://{code}"})
    assert "FRAMEWORK_SDK_REQUIREMENTS_INSTALLED" not in made._spec("algo-1", 1, None, 8080).environment
    assert made.backend.layered == []

    class DockerLike(Backend):  # a bring-your-own image: the program installs what it needs
        name = "docker"

        def base_dir(self, spec):
            return "/opt/ml"

    (code / "setup.py").unlink()
    (tmp_path / "docker").mkdir()
    made = servers(tmp_path / "docker", {"SAGEMAKER_SUBMIT_DIRECTORY": f"file://{code}"}, backend=DockerLike())
    spec = made._spec("algo-1", 1, None, 8080)
    assert "FRAMEWORK_SDK_REQUIREMENTS_INSTALLED" not in spec.environment  # the container installs them
    assert spec.environment["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/code"
    assert made.run_image == made.image
