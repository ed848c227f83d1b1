"""The Chainer framework: training defaults, serving functions and the conformance check's script.

Chainer itself is imported only inside functions that need it, so the toolkit can
load this module where Chainer is not installed.
"""
from framework_sdk import codecs
from framework_sdk.container.errors import StartupError

# What `framework-sdk check` runs in a Chainer image when the user gives no --entry-point.
CHECK_SCRIPT = "check_scripts/softmax_regression.py"

# The client half, registered with the toolkit half (pyproject.toml's framework_sdk.frameworks entry point).
IMAGE_VERSIONS = {"7.8.1": ("py3",)}
IMAGE_DEFINITION = "framework_sdk.images:chainer"
ESTIMATOR = "framework_sdk.chainer.estimator:Chainer"
MODEL = "framework_sdk.chainer.model:ChainerModel"

# ---------------------------------------------------------------- training


def training_defaults(environment):
    """ChainerMN runs over MPI: with more than one host, ``sagemaker_use_mpi`` defaults to true."""
    return {"sagemaker_use_mpi": True} if len(environment.hosts) > 1 else {}


# ---------------------------------------------------------------- serving

MODEL_FN_HELP = """the Chainer model server needs a model_fn in your inference script; for example:

    def model_fn(model_dir):
        model = L.Classifier(MLP(1000, 10))  # the network your training script built
        chainer.serializers.load_npz(os.path.join(model_dir, "model.npz"), model)
        return model.predictor"""


def default_model_fn(model_dir):
    """Chainer cannot guess the network's class: stop start-up showing the ``model_fn`` to write."""
    raise StartupError(MODEL_FN_HELP)


def default_input_fn(input_data, content_type):
    """NPY, JSON, CSV (and JSON Lines) bodies to float32 numpy arrays."""
    return codecs.decode(input_data, content_type, dtype="float32")


def default_predict_fn(data, model):
    """Run ``model(data)`` in test mode without backprop and return a numpy array on the CPU."""
    import chainer

    with chainer.using_config("train", False), chainer.no_backprop_mode():
        output = model(data)
    return _to_numpy(output)


def _to_numpy(output):
    array = getattr(output, "array", output)  # a chainer.Variable holds its array in .array
    if isinstance(array, (tuple, list)):
        return type(array)(_to_numpy(item) for item in array)
    get = getattr(array, "get", None)  # cupy arrays copy to the host with .get()
    if callable(get) and type(array).__module__.startswith("cupy"):
        return get()
    return array
