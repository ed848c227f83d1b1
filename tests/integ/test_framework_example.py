"""The out-of-tree example framework (examples/centroid-framework): registered by its entry point, its image
built from its own image definition (IMAGE_DEFINITION), trained in framework mode, served with its defaults and
batch-transformed, on both local backends: the docker backend runs its image, the process backend the cached
environment made from the same definition, with the example package installed in it."""
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "centroid-framework"
TAG = "framework-sdk-centroid:1.0-cpu-py3"


@pytest.fixture(scope="module")
def centroid_installed(tmp_path_factory):
    """The example package pip-installed into a folder put on sys.path: its entry point is then registered here."""
    from framework_sdk.container import frameworks

    target = tmp_path_factory.mktemp("centroid-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--target", str(target), str(EXAMPLE)], check=True, timeout=300)
    sys.path.insert(0, str(target))
    frameworks.registered.cache_clear()
    yield target
    sys.path.remove(str(target))
    frameworks.registered.cache_clear()
    for name in [name for name in sys.modules if name.startswith("centroid_framework")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def centroid_image(request, centroid_installed):
    """The example's image, built by `framework-sdk images build centroid` from the definition it registers."""
    from framework_sdk.images import build

    docker_client, base_image = request.getfixturevalue("docker_client"), request.getfixturevalue("base_image")
    assert build(["centroid"], client=docker_client, base_image=base_image)[0].tag == TAG
    yield TAG
    docker_client.images.remove(TAG, force=True)


@pytest.fixture(params=[pytest.param("docker", marks=pytest.mark.docker), "process"])
def backend(request, centroid_installed):
    """The local backend under test: docker with the example's image, process with its cached environment."""
    if request.param == "docker":
        request.getfixturevalue("centroid_image")
    return request.param


def test_example_framework_trains_serves_and_transforms(centroid_installed, backend, tmp_path):
    from framework_sdk import LocalSession, image_uris
    from framework_sdk.container import frameworks

    assert frameworks.load("centroid").TRAINING_MODULE == "centroid_framework.training"
    assert image_uris.retrieve("centroid", "1.0") == TAG
    from centroid_framework import Centroid

    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("0,0.0,0.1\n0,0.2,0.0\n1,1.0,0.9\n1,0.8,1.1\n")
    estimator = Centroid("train.py", source_dir=str(EXAMPLE / "example"), instance_type="local", instance_count=1,
                         hyperparameters={"shrink": 0.0}, sagemaker_session=LocalSession(backend=backend))
    estimator.fit({"train": f"file://{data}"})
    with tarfile.open(estimator.model_data[len("file://"):]) as archive:
        assert "centroids.npz" in archive.getnames()
    predictor = estimator.deploy(1, "local")
    try:
        assert predictor.predict([[0.1, 0.1], [0.9, 1.0]]) == [0.0, 1.0]
    finally:
        predictor.delete_endpoint()
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "rows.csv").write_text("0.0,0.0\n1.0,1.0\n0.1,0.2\n")
    transformer = estimator.transformer(1, "local", assemble_with="Line", accept="text/csv",
                                        output_path=f"file://{tmp_path}/out")
    transformer.transform(f"file://{batch}", content_type="text/csv", split_type="Line")
    assert [float(v) for v in (tmp_path / "out" / "rows.csv.out").read_text().split()] == [0.0, 1.0, 0.0]
