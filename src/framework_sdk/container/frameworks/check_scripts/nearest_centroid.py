"""The generic Python framework's built-in script for ``framework-sdk check``: a nearest-centroid classifier.

Trains with numpy on the CSV files of the job's channel (label first, then the
features), saves ``centroids.npz`` and serves it with ``model_fn``/``predict_fn``. It fails
with a reason on an empty or unreadable channel and answers 400 for rows of the wrong width,
as a user's script should.
"""
import glob
import json
import os

import numpy as np


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
    return table[:, 1:], table[:, 0]


def channel_dir():
    """The job's channel: ``training``, or the one ``framework-sdk check --channel`` named."""
    channels = json.loads(os.environ["SM_CHANNELS"])
    name = "training" if "training" in channels else channels[0]
    return os.environ[f"SM_CHANNEL_{name.upper()}"]


def model_fn(model_dir):
    saved = np.load(os.path.join(model_dir, "centroids.npz"))
    return saved["classes"], saved["centroids"]


def predict_fn(data, model):
    classes, centroids = model
    rows = np.asarray(data, dtype=float)
    rows = rows[None, :] if rows.ndim == 1 else rows
    if rows.ndim != 2 or rows.shape[1] != centroids.shape[1]:
        raise BadRequest(f"expected rows of {centroids.shape[1]} features, got an array of shape {rows.shape}")
    distances = ((rows[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=-1)
    return classes[distances.argmin(axis=1)]


def train(channel_dir, model_dir):
    features, labels = read_channel(channel_dir)
    classes = np.unique(labels)
    centroids = np.stack([features[labels == label].mean(axis=0) for label in classes])
    accuracy = (predict_fn(features, (classes, centroids)) == labels).mean()
    print(f"accuracy={accuracy:.3f}", flush=True)
    np.savez(os.path.join(model_dir, "centroids.npz"), classes=classes, centroids=centroids)


if __name__ == "__main__":
    train(channel_dir(), os.environ["SM_MODEL_DIR"])
