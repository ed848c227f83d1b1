"""The scikit-learn framework's built-in script for ``framework-sdk check``: a logistic regression.

Trains on the CSV files of the job's channel (label first, then the features), saves
``model.joblib`` (served by the framework's default ``model_fn``) and answers 400 for rows of the
wrong width, as a user's script should.
"""
import glob
import json
import os

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression


class BadRequest(ValueError):
    status_code = 400  # the model server answers 400 with the message


def channel_dir():
    """The job's channel: ``training``, or the one ``framework-sdk check --channel`` named."""
    channels = json.loads(os.environ["SM_CHANNELS"])
    name = "training" if "training" in channels else channels[0]
    return os.environ[f"SM_CHANNEL_{name.upper()}"]


def predict_fn(data, model):
    rows = np.asarray(data, dtype=float)
    rows = rows[None, :] if rows.ndim == 1 else rows
    if rows.ndim != 2 or rows.shape[1] != model.n_features_in_:
        raise BadRequest(f"expected rows of {model.n_features_in_} features, got an array of shape {rows.shape}")
    return model.predict(rows)


if __name__ == "__main__":
    files = sorted(glob.glob(os.path.join(channel_dir(), "*")))
    if not files:
        raise SystemExit(f"no files in {channel_dir()}: give fit() a CSV (label first)")
    try:
        table = np.vstack([np.loadtxt(name, delimiter=",", ndmin=2) for name in files])
    except ValueError as error:
        raise SystemExit(f"the training data is not a numeric CSV (label first): {error}") from None
    model = LogisticRegression(max_iter=500).fit(table[:, 1:], table[:, 0])
    print(f"accuracy={model.score(table[:, 1:], table[:, 0]):.3f}", flush=True)
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
