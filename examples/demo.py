#!/usr/bin/env python3
"""Train, deploy and predict a small Chainer model on this machine: no Docker, no AWS account.

    python3 tasks.py demo            # or: .venv/bin/python examples/demo.py [--epochs 2]

It runs the SageMaker-style script ``examples/chainer_mnist/train.py`` with local mode's
process backend: the first run builds the cached Chainer environment (a few minutes),
later runs start in seconds. Swap ``LocalSession(backend="process")`` for a SageMaker
session and ``instance_type="ml.m5.xlarge"`` and the same code trains on AWS.
"""
import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from framework_sdk import LocalSession
from framework_sdk.chainer import Chainer

EXAMPLE = Path(__file__).resolve().parent / "chainer_mnist"
sys.path.insert(0, str(EXAMPLE))
import data  # noqa: E402  (examples/chainer_mnist/data.py: learnable MNIST-shaped data)


def step(number, text):
    print(f"\n[{number}/5] {text}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="training epochs (default 2)")
    args = parser.parse_args()
    logging.basicConfig(format="      %(message)s")
    logging.getLogger("framework_sdk.venvs").setLevel(logging.INFO)  # say so while the environment builds

    with tempfile.TemporaryDirectory(prefix="framework-sdk-demo-") as folder:
        work = Path(folder)
        step(1, "Preparing the Chainer 7.8.1 environment for the process backend")
        started = time.monotonic()
        from framework_sdk import venvs

        python = venvs.framework_python("chainer", "7.8.1")
        print(f"      ready in {time.monotonic() - started:.1f} s: {python}")

        step(2, "Writing MNIST-shaped data (784 features, 10 classes) to file:// channels")
        train_dir = data.write(str(work / "data" / "train"), 2000, seed=1)
        test_dir = data.write(str(work / "data" / "test"), 500, seed=2)
        print(f"      train: 2000 samples in {train_dir}\n      test:  500 samples in {test_dir}")

        step(3, f"Training {EXAMPLE / 'train.py'} for {args.epochs} epoch(s): Chainer(...).fit(...)")
        session = LocalSession(backend="process", work_dir=str(work))
        estimator = Chainer(entry_point="train.py", source_dir=str(EXAMPLE), instance_type="local",
                            instance_count=1, framework_version="7.8.1",
                            hyperparameters={"epochs": args.epochs}, output_path=f"file://{work}/models",
                            sagemaker_session=session)
        started = time.monotonic()
        estimator.fit({"train": f"file://{train_dir}", "test": f"file://{test_dir}"})
        print(f"      trained in {time.monotonic() - started:.1f} s; model: {estimator.model_data}")

        step(4, "Deploying the model to a local endpoint: estimator.deploy(...)")
        started = time.monotonic()
        predictor = estimator.deploy(initial_instance_count=1, instance_type="local")
        print(f"      endpoint {predictor.endpoint_name} in service after {time.monotonic() - started:.1f} s")
        try:
            step(5, "Predicting: predictor.predict(numpy array) sends NPY, returns NPY")
            with np.load(os.path.join(test_dir, "data.npz")) as arrays:
                x, y = arrays["x"], arrays["y"]
            scores = predictor.predict(x[:5])
            print(f"      predict(x[:5]) -> scores of shape {scores.shape}")
            print(f"      predicted classes {scores.argmax(axis=1).tolist()}, true classes {y[:5].tolist()}")
            accuracy = float((predictor.predict(x).argmax(axis=1) == y).mean())
            print(f"      accuracy on the {len(y)} test samples: {accuracy:.3f} (chance: 0.100)")
        finally:
            predictor.delete_endpoint()
            session.close()
            print("\nEndpoint deleted. Next: doc/chainer.md (distributed training, handlers, AWS).")
    return 0 if accuracy > 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
