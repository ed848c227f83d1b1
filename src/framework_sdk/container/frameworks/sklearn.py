"""The scikit-learn framework: serving defaults, the conformance check's script and the client half's names.

Serving: a user's ``model_fn`` wins; without one, ``default_model_fn`` loads ``model.joblib`` from the
model folder (what SageMaker's scikit-learn examples save with ``joblib.dump``), and stops start-up
showing the ``model_fn`` to write when there is none. SageMaker's own container requires a
``model_fn``; loading ``model.joblib`` serves the common case without one and changes nothing for
scripts that define it. Requests decode with the toolkit's generic handlers (NPY, CSV, JSON, JSON Lines
to numpy arrays) and the model's ``predict`` answers. joblib is imported only inside
functions, so the toolkit loads this module where scikit-learn is not installed.
"""
import os

from framework_sdk.container.errors import StartupError

CHECK_SCRIPT = "check_scripts/sklearn_logistic.py"
MODEL_FILE = "model.joblib"

IMAGE_VERSIONS = {"1.9.1": ("py3",)}
IMAGE_DEFINITION = "framework_sdk.images:sklearn"
ESTIMATOR = "framework_sdk.sklearn.estimator:SKLearn"
MODEL = "framework_sdk.sklearn.model:SKLearnModel"

MODEL_FN_HELP = f"""the scikit-learn model server found no {MODEL_FILE} in %s and your inference script has no
model_fn: save the model as {MODEL_FILE} (joblib.dump(model, os.path.join(args.model_dir, "{MODEL_FILE}")))
or define one:

    def model_fn(model_dir):
        return joblib.load(os.path.join(model_dir, "my-model.pkl"))"""


def default_model_fn(model_dir):
    """``joblib.load(model_dir/model.joblib)``; without that file, stop start-up showing the ``model_fn`` to write."""
    path = os.path.join(model_dir, MODEL_FILE)
    if not os.path.isfile(path):
        raise StartupError(MODEL_FN_HELP % model_dir)
    import joblib

    return joblib.load(path)

