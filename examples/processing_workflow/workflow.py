#!/usr/bin/env python3
"""Preprocess -> train -> evaluate, locally: no AWS account (and, with --backend process, no Docker).

    .venv/bin/python examples/processing_workflow/workflow.py [--backend process|docker]

1. a ScriptProcessor on 2 instances splits and normalises raw CSV shards (ShardedByS3Key: each
   instance its share) into train and test channels;
2. a Chainer estimator trains on the train channel;
3. a ChainerProcessor evaluates the model.tar.gz on the test channel and writes evaluation.json.

With an AWS Session, instance types such as "ml.m5.xlarge", a role and s3:// locations, the
same code runs on SageMaker.
"""
import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from framework_sdk import LocalSession, ProcessingInput, ProcessingOutput, ScriptProcessor
from framework_sdk.chainer import Chainer, ChainerProcessor

CODE = Path(__file__).resolve().parent
PYTHON_IMAGE = "framework-sdk-python:3.11-cpu-py3"


def write_raw_shards(folder, shards=6, rows=60, seed=0):
    """Two classes of 4-feature points, in ``shards`` CSV files (``f1,f2,f3,f4,label``) on unlike scales."""
    random = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for shard in range(shards):
        labels = random.integers(0, 2, rows)
        features = random.normal(0, 1, (rows, 4)) + labels[:, None] * np.array([2.0, -2.0, 1.5, 0.0])
        features *= np.array([1.0, 10.0, 100.0, 1000.0])  # what normalising is for
        np.savetxt(os.path.join(folder, f"raw-{shard}.csv"), np.column_stack([features, labels]),
                   delimiter=",", fmt="%.5f")
    return folder


def run(session, raw, out, instance_type="local"):
    """The three steps on ``session``; returns evaluation.json's content. ``raw``, ``out``: URIs (file:// or s3://)."""
    preprocess = ScriptProcessor(image_uri=PYTHON_IMAGE, command=["python3"], instance_type=instance_type,
                                 instance_count=2, base_job_name="preprocess", sagemaker_session=session)
    preprocess.run(str(CODE / "preprocess.py"),
                   inputs=[ProcessingInput(raw, "/opt/ml/processing/input",
                                           s3_data_distribution_type="ShardedByS3Key")],
                   outputs=[ProcessingOutput("/opt/ml/processing/train", f"{out}/train", "train"),
                            ProcessingOutput("/opt/ml/processing/test", f"{out}/test", "test")])
    channels = {output.output_name: output.destination for output in preprocess.latest_job.outputs}

    estimator = Chainer(entry_point="train.py", source_dir=str(CODE), framework_version="7.8.1",
                        instance_type=instance_type, instance_count=1, hyperparameters={"epochs": 30},
                        output_path=f"{out}/models", sagemaker_session=session)
    estimator.fit({"train": channels["train"]})

    evaluate = ChainerProcessor(framework_version="7.8.1", instance_type=instance_type, instance_count=1,
                                base_job_name="evaluate", sagemaker_session=session)
    evaluate.run("evaluate.py", source_dir=str(CODE),
                 inputs=[ProcessingInput(estimator.model_data, "/opt/ml/processing/model", "model"),
                         ProcessingInput(channels["test"], "/opt/ml/processing/test", "test")],
                 outputs=[ProcessingOutput("/opt/ml/processing/evaluation", f"{out}/evaluation", "evaluation")])
    report = evaluate.latest_job.outputs[0].destination + "/evaluation.json"
    if report.startswith("file://"):
        return json.loads(Path(report[len("file://"):]).read_text())
    bucket, key = report[len("s3://"):].split("/", 1)
    return json.loads(session.read_s3_file(bucket, key))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("process", "docker"), default="process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="framework-sdk-workflow-") as folder:
        raw = write_raw_shards(os.path.join(folder, "raw"))
        session = LocalSession(backend=args.backend)
        try:
            evaluation = run(session, f"file://{raw}", f"file://{folder}/out")
        finally:
            session.close()
    print(f"\nevaluation.json: {json.dumps(evaluation)}")


if __name__ == "__main__":
    main()
