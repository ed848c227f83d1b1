"""The decision-tree bring-your-own image through the SDK in local mode: fit, batch transform, deploy, predict."""
import pytest

from framework_sdk import CSVDeserializer, CSVSerializer, Estimator, LocalSession

from test_byo import iris_like

pytestmark = pytest.mark.docker


@pytest.fixture
def session(docker_client):
    session = LocalSession(backend="docker", docker_client=docker_client)
    yield session
    session.close()


def test_fit_transform_deploy_predict(session, decision_tree_image, tmp_path):
    labels, features = iris_like()
    data = tmp_path / "data"
    data.mkdir()
    (data / "iris.csv").write_text("".join(f"{label},{','.join(map(str, row))}\n"
                                           for label, row in zip(labels, features)))

    tree = Estimator(decision_tree_image, "SageMakerRole", 1, "local", sagemaker_session=session,
                     hyperparameters={"max_leaf_nodes": 8}, output_path=f"file://{tmp_path}/models")
    tree.fit(f"file://{data}")
    assert tree.model_data.startswith(f"file://{tmp_path}/models/")

    test_labels, test_features = iris_like(rows=40, seed=3)
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "payload.csv").write_text("".join(",".join(map(str, row)) + "\n" for row in test_features))
    transformer = tree.transformer(1, "local", assemble_with="Line", accept="text/csv",
                                   output_path=f"file://{tmp_path}/predictions")
    transformer.transform(f"file://{batch}", content_type="text/csv", split_type="Line")
    predicted = (tmp_path / "predictions" / "payload.csv.out").read_text().splitlines()
    assert len(predicted) == len(test_features)
    assert sum(p == label for p, label in zip(predicted, test_labels)) >= 36

    predictor = tree.deploy(1, "local", serializer=CSVSerializer(), deserializer=CSVDeserializer())
    try:
        rows = predictor.predict(test_features[:5])
        assert [row[0] for row in rows] == predicted[:5]
    finally:
        predictor.delete_endpoint()
