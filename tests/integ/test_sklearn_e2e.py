"""A scikit-learn script written for SageMaker's scikit-learn container (argparse, SM_MODEL_DIR, SM_CHANNEL_TRAIN,
joblib.dump; no model_fn) trains, deploys, predicts in NPY, CSV and JSON and batch-transforms, unchanged, on both
local backends. Prints the time from fit() to the first prediction."""
import time

import numpy as np
import pytest

from framework_sdk import LocalSession
from framework_sdk.serializers import CSVDeserializer, CSVSerializer, JSONDeserializer, JSONSerializer
from framework_sdk.sklearn import SKLearn

SCRIPT = '''
import argparse
import os

import joblib
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_leaf_nodes", type=int, default=-1)
    parser.add_argument("--output-data-dir", type=str, default=os.environ["SM_OUTPUT_DATA_DIR"])
    parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
    args = parser.parse_args()

    files = [os.path.join(args.train, name) for name in os.listdir(args.train)]
    data = pd.concat([pd.read_csv(name, header=None, engine="python") for name in files])
    labels, features = data.iloc[:, 0], data.iloc[:, 1:]
    model = DecisionTreeClassifier(max_leaf_nodes=args.max_leaf_nodes).fit(features.values, labels.values)
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
'''


@pytest.mark.parametrize("backend", ["process", pytest.param("docker", marks=pytest.mark.docker)])
def test_sagemaker_sklearn_script_runs_unchanged(backend, tmp_path, request):
    if backend == "docker":
        request.getfixturevalue("sklearn_image")
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(SCRIPT)
    data = tmp_path / "data"
    data.mkdir()
    rows = [(int(a + b > 1.0), a, b) for a, b in np.random.default_rng(0).random((60, 2))]
    (data / "train.csv").write_text("".join(f"{y},{a:.4f},{b:.4f}\n" for y, a, b in rows))

    started = time.monotonic()
    estimator = SKLearn("train.py", framework_version="1.9.1", source_dir=str(code), instance_type="local",
                        hyperparameters={"max_leaf_nodes": 8}, sagemaker_session=LocalSession(backend=backend))
    estimator.fit({"train": f"file://{data}"})
    predictor = estimator.deploy(initial_instance_count=1, instance_type="local")
    try:
        first = predictor.predict(np.array([[0.9, 0.9], [0.1, 0.1]]))  # NPY both ways (SKLearnPredictor)
        print(f"\n[{backend}] sklearn train -> first predict: {time.monotonic() - started:.1f} s")
        assert first.tolist() == [1, 0]
        predictor.serializer, predictor.deserializer = CSVSerializer(), CSVDeserializer()
        assert predictor.predict([[0.9, 0.9], [0.1, 0.1]]) == [["1"], ["0"]]
        predictor.serializer, predictor.deserializer = JSONSerializer(), JSONDeserializer()
        assert predictor.predict([[0.9, 0.9], [0.1, 0.1]]) == [1, 0]
    finally:
        predictor.delete_endpoint()

    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "rows.csv").write_text("0.9,0.8\n0.05,0.1\n0.7,0.9\n")
    transformer = estimator.transformer(1, "local", assemble_with="Line", accept="text/csv",
                                        output_path=f"file://{tmp_path}/out")
    transformer.transform(f"file://{batch}", content_type="text/csv", split_type="Line")
    assert [float(v) for v in (tmp_path / "out" / "rows.csv.out").read_text().split()] == [1.0, 0.0, 1.0]
