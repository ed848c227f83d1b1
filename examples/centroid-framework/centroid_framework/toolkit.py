"""The framework's registration module (entry point ``framework_sdk.frameworks: centroid``).

Both halves import it, so it imports only the standard library and framework_sdk.container at its
top; numpy is imported inside the functions that use it.
"""
import os

IMAGE_VERSIONS = {"1.0": ("py3",)}  # the image is framework-sdk-centroid:1.0-cpu-py3
ESTIMATOR = "centroid_framework.estimator:Centroid"
MODEL = "centroid_framework.estimator:CentroidModel"
TRAINING_MODULE = "centroid_framework.training"  # what `train` runs in the image
# Dockerfile + image.toml (package data): `framework-sdk images build centroid` and the process backend's environment
IMAGE_DEFINITION = "centroid_framework:image"


def training_defaults(environment):
    """Framework parameters under the job's own: normalise features unless told otherwise."""
    return {"sagemaker_centroid_normalize": True}


def default_model_fn(model_dir):
    """The centroids saved by the framework's default save (``centroids.npz``)."""
    import numpy as np

    saved = np.load(os.path.join(model_dir, "centroids.npz"))
    return {"classes": saved["classes"], "centroids": saved["centroids"]}


def default_predict_fn(data, model):
    """The nearest centroid's class of each row."""
    import numpy as np

    rows = np.atleast_2d(np.asarray(data, dtype=float))
    distances = ((rows[:, None, :] - model["centroids"][None, :, :]) ** 2).sum(axis=-1)
    return model["classes"][distances.argmin(axis=1)]
