"""Train a small MLP on MNIST-shaped data with Chainer, SageMaker-style.

Runs unchanged in SageMaker's Chainer containers and in framework-sdk's: arguments
default to the SM_* environment the container sets.
"""
import argparse
import json
import os

import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np
from chainer import serializers, training
from chainer.training import extensions


class MLP(chainer.Chain):
    def __init__(self, n_units=100, n_out=10):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(None, n_units)
            self.l2 = L.Linear(None, n_units)
            self.l3 = L.Linear(None, n_out)

    def __call__(self, x):
        h1 = F.relu(self.l1(x))
        h2 = F.relu(self.l2(h1))
        return self.l3(h2)


def load(channel_dir):
    with np.load(os.path.join(channel_dir, "data.npz")) as data:
        return chainer.datasets.TupleDataset(data["x"].astype(np.float32), data["y"].astype(np.int32))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--test", default=os.environ.get("SM_CHANNEL_TEST"))
    args, _ = parser.parse_known_args()

    train, test = load(args.train), load(args.test)
    model = L.Classifier(MLP(args.units, 10))
    optimizer = chainer.optimizers.Adam(alpha=args.learning_rate)
    optimizer.setup(model)

    train_iter = chainer.iterators.SerialIterator(train, args.batch_size)
    test_iter = chainer.iterators.SerialIterator(test, args.batch_size, repeat=False, shuffle=False)
    updater = training.updaters.StandardUpdater(train_iter, optimizer)
    trainer = training.Trainer(updater, (args.epochs, "epoch"), out=args.output_data_dir)
    trainer.extend(extensions.Evaluator(test_iter, model))
    trainer.extend(extensions.LogReport())
    trainer.extend(extensions.PrintReport(["epoch", "main/loss", "validation/main/loss",
                                           "main/accuracy", "validation/main/accuracy"]))
    trainer.extend(print_validation_accuracy)
    trainer.run()

    with chainer.using_config("train", False), chainer.no_backprop_mode():
        x, y = chainer.dataset.concat_examples(test)
        accuracy = float(F.accuracy(model.predictor(x), y).array)
    print(f"test accuracy: {accuracy:.4f}", flush=True)
    with open(os.path.join(args.output_data_dir, "metrics.json"), "w") as f:
        json.dump({"test_accuracy": accuracy}, f)
    serializers.save_npz(os.path.join(args.model_dir, "model.npz"), model.predictor)
    with open(os.path.join(args.model_dir, "shape.json"), "w") as f:
        json.dump({"units": args.units}, f)  # model_fn rebuilds the network with it (units may be tuned)


@training.make_extension(trigger=(1, "epoch"), priority=training.PRIORITY_READER)
def print_validation_accuracy(trainer):
    """One line per epoch, after the evaluator: what a tuning job's metric_definitions read
    (``{"Name": "validation:accuracy", "Regex": "validation accuracy: ([0-9.]+)"}``)."""
    accuracy = float(trainer.observation["validation/main/accuracy"])
    print(f"epoch {trainer.updater.epoch} validation accuracy: {accuracy:.4f}", flush=True)


def model_fn(model_dir):
    """Load the trained MLP for serving."""
    units, shape = 100, os.path.join(model_dir, "shape.json")
    if os.path.exists(shape):
        with open(shape) as f:
            units = json.load(f)["units"]
    model = MLP(units, 10)
    serializers.load_npz(os.path.join(model_dir, "model.npz"), model)
    return model


if __name__ == "__main__":
    main()
