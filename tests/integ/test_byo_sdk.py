"""The decision-tree bring-your-own image through the SDK in local mode, on both backends: fit, batch
transform, deploy, predict.

docker runs the image built from examples/byo-decision-trees; process runs the same folder
without Docker, found by the ``tag`` in its image.toml (``LocalSession(image_folders=[...])``).
"""
from pathlib import Path

import pytest

from framework_sdk import CSVDeserializer, CSVSerializer, Estimator, LocalSession

from test_byo import iris_like

FOLDER = Path(__file__).resolve().parents[2] / "examples" / "byo-decision-trees"


def processes_under(folder):
    """Pids of processes whose SAGEMAKER_BASE_DIR lies in ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if f"SAGEMAKER_BASE_DIR={folder}".encode() in (entry / "environ").read_bytes():
                found.append(entry.name)
        except OSError:
            continue
    return found


@pytest.fixture(params=[pytest.param("docker", marks=pytest.mark.docker), "process"])
def session_and_image(request, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    if request.param == "docker":
        client = request.getfixturevalue("docker_client")
        image = request.getfixturevalue("decision_tree_image")
        session = LocalSession(backend="docker", docker_client=client, work_dir=str(runs))
    else:
        image = "decision-trees:latest"  # the tag in the folder's image.toml
        session = LocalSession(backend="process", image_folders=[FOLDER], work_dir=str(runs))
    yield session, image
    session.close()
    assert list(runs.iterdir()) == [] and processes_under(runs) == []


def test_fit_transform_deploy_predict(session_and_image, tmp_path):
    session, image = session_and_image
    labels, features = iris_like()
    data = tmp_path / "data"
    data.mkdir()
    (data / "iris.csv").write_text("".join(f"{label},{','.join(map(str, row))}\n"
                                           for label, row in zip(labels, features)))

    tree = Estimator(image, "SageMakerRole", 1, "local", sagemaker_session=session,
                     hyperparameters={"max_leaf_nodes": 8}, output_path=f"file://{tmp_path}/models")
    tree.fit(f"file://{data}")
    assert tree.model_data.startswith(f"file://{tmp_path}/models/")

    test_labels, test_features = iris_like(rows=40, seed=3)
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "payload.csv").write_text("".join(",".join(map(str, row)) + "\n" for row in test_features))
    # the issue's own call: no assemble_with or accept; the server's CSV answers keep one line per record
    transformer = tree.transformer(1, "local", output_path=f"file://{tmp_path}/predictions")
    transformer.transform(f"file://{batch}", content_type="text/csv", split_type="Line")
    predicted = (tmp_path / "predictions" / "payload.csv.out").read_text().splitlines()
    assert len(predicted) == len(test_features)  # one prediction per input line
    assert set(predicted) <= set(labels)
    assert sum(p == label for p, label in zip(predicted, test_labels)) >= 36

    predictor = tree.deploy(1, "local", serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        rows = predictor.predict(test_features[:5])
        assert [row[0] for row in rows] == predicted[:5]
    finally:
        predictor.delete_endpoint()
