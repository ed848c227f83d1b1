"""The Chainer framework's built-in script for ``framework-sdk check``: softmax regression.

Trains on the CSV files of the job's channel (label first, then the features), saves
the network to ``model.npz`` and serves it with ``model_fn``/``predict_fn``. It fails with a
reason on an empty or unreadable channel and answers 400 for rows of the wrong width, as a
user's script should.
"""
import glob
import json
import os

import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np
from chainer import serializers

EPOCHS = 200


class BadRequest(ValueError):
    status_code = 400  # the model server answers 400 with the message


def read_channel(channel_dir):
    """``(features, labels)`` of every CSV file in ``channel_dir``; raises when there is nothing to learn from."""
    files = sorted(glob.glob(os.path.join(channel_dir, "*")))
    if not files:
        raise SystemExit(f"no files in {channel_dir}: give fit() a CSV (label first)")
    try:
        table = np.vstack([np.loadtxt(name, delimiter=",", ndmin=2) for name in files])
    except ValueError as error:  # UnicodeDecodeError included
        raise SystemExit(f"the training data is not a numeric CSV (label first): {error}") from None
    return table[:, 1:].astype(np.float32), table[:, 0].astype(np.int32)


def channel_dir():
    """The job's channel: ``training``, or the one ``framework-sdk check --channel`` named."""
    channels = json.loads(os.environ["SM_CHANNELS"])
    name = "training" if "training" in channels else channels[0]
    return os.environ[f"SM_CHANNEL_{name.upper()}"]


def model_fn(model_dir):
    with open(os.path.join(model_dir, "shape.json")) as file:
        shape = json.load(file)
    network = L.Linear(shape["features"], shape["classes"])
    serializers.load_npz(os.path.join(model_dir, "model.npz"), network)
    return network


def predict_fn(data, network):
    rows = np.asarray(data, dtype=np.float32)
    rows = rows[None, :] if rows.ndim == 1 else rows
    if rows.ndim != 2 or rows.shape[1] != network.W.shape[1]:
        raise BadRequest(f"expected rows of {network.W.shape[1]} features, got an array of shape {rows.shape}")
    with chainer.using_config("train", False), chainer.no_backprop_mode():
        return F.argmax(network(rows), axis=1).array


def train(channel_dir, model_dir):
    features, labels = read_channel(channel_dir)
    classes = int(labels.max()) + 1
    classifier = L.Classifier(L.Linear(features.shape[1], classes))
    optimizer = chainer.optimizers.Adam(alpha=0.1)
    optimizer.setup(classifier)
    for _ in range(EPOCHS):
        classifier.cleargrads()
        loss = classifier(features, labels)
        loss.backward()
        optimizer.update()
    print(f"loss={float(loss.array):.4f} accuracy={float(classifier.accuracy.array):.3f}", flush=True)
    serializers.save_npz(os.path.join(model_dir, "model.npz"), classifier.predictor)
    with open(os.path.join(model_dir, "shape.json"), "w") as file:
        json.dump({"features": int(features.shape[1]), "classes": classes}, file)


if __name__ == "__main__":
    train(channel_dir(), os.environ["SM_MODEL_DIR"])
