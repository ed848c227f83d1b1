"""`framework-sdk check` against our own framework images, running a user script through the toolkit."""
import io
import textwrap

import pytest
from click.testing import CliRunner

from framework_sdk import conformance
from framework_sdk.cli import main

pytestmark = pytest.mark.docker

# Nearest-centroid classifier in numpy: trains on the check's CSV (label first), serves with model_fn.
CENTROIDS = textwrap.dedent('''
    """Nearest-centroid classifier: `train` via SM_* variables, `serve` via model_fn/predict_fn."""
    import glob
    import os

    import numpy as np


    class BadInput(ValueError):
        status_code = 400  # the model server answers 400 with this message


    def model_fn(model_dir):
        saved = np.load(os.path.join(model_dir, "centroids.npz"))
        return saved["classes"], saved["centroids"]


    def predict_fn(data, model):
        classes, centroids = model
        rows = np.asarray(data, dtype=float)
        rows = rows[None, :] if rows.ndim == 1 else rows
        if rows.ndim != 2 or rows.shape[1] != centroids.shape[1]:
            raise BadInput(f"expected rows of {centroids.shape[1]} features, got an array of shape {rows.shape}")
        distances = ((rows[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=-1)
        return classes[distances.argmin(axis=1)]


    if __name__ == "__main__":
        files = sorted(glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAINING"], "*")))
        if not files:
            raise SystemExit("no files in the training channel: give fit() a CSV (label first)")
        table = np.vstack([np.loadtxt(name, delimiter=",", ndmin=2) for name in files])
        labels, features = table[:, 0], table[:, 1:]
        classes = np.unique(labels)
        centroids = np.stack([features[labels == label].mean(axis=0) for label in classes])
        model = (classes, centroids)
        print(f"accuracy={(predict_fn(features, model) == labels).mean():.3f}", flush=True)
        np.savez(os.path.join(os.environ["SM_MODEL_DIR"], "centroids.npz"), classes=classes, centroids=centroids)
''')

# A linear classifier in Chainer, trained on the check's CSV, served with model_fn/predict_fn.
CHAINER_LINEAR = textwrap.dedent('''
    """Softmax regression in Chainer on the `training` channel's CSV (label first)."""
    import glob
    import os

    import chainer
    import chainer.functions as F
    import chainer.links as L
    import numpy as np
    from chainer import serializers

    FEATURES, CLASSES = 4, 3


    class BadInput(ValueError):
        status_code = 400


    def model_fn(model_dir):
        model = L.Linear(FEATURES, CLASSES)
        serializers.load_npz(os.path.join(model_dir, "model.npz"), model)
        return model


    def predict_fn(data, model):
        rows = np.asarray(data, dtype=np.float32)
        rows = rows[None, :] if rows.ndim == 1 else rows
        if rows.ndim != 2 or rows.shape[1] != FEATURES:
            raise BadInput(f"expected rows of {FEATURES} features, got an array of shape {rows.shape}")
        with chainer.using_config("train", False), chainer.no_backprop_mode():
            return F.argmax(model(rows), axis=1).array


    if __name__ == "__main__":
        files = sorted(glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAINING"], "*")))
        if not files:
            raise SystemExit("no files in the training channel")
        table = np.vstack([np.loadtxt(name, delimiter=",", ndmin=2) for name in files])
        x, y = table[:, 1:].astype(np.float32), table[:, 0].astype(np.int32)
        classifier = L.Classifier(L.Linear(FEATURES, CLASSES))
        optimizer = chainer.optimizers.Adam(alpha=0.1)
        optimizer.setup(classifier)
        for epoch in range(200):
            classifier.cleargrads()
            loss = classifier(x, y)
            loss.backward()
            optimizer.update()
        print(f"loss={float(loss.array):.4f} accuracy={float(classifier.accuracy.array):.3f}", flush=True)
        serializers.save_npz(os.path.join(os.environ["SM_MODEL_DIR"], "model.npz"), classifier.predictor)
''')

MUST_PASS = ("train: exits 0 on valid input", "train: writes the model to /opt/ml/model",
             "train: writes output/failure on an empty channel", "train: writes output/failure on a garbage channel",
             "serve: /ping only when /invocations works", "serve: handles text/csv", "serve: handles application/json",
             "serve: handles application/x-npy", "serve: 415 for an unknown content type",
             "serve: 400 for a malformed body", "serve: 400 for the wrong number of features",
             "serve: keeps serving after bad requests")


def check_with_script(docker_client, image, tmp_path, script):
    source = tmp_path / "src"
    source.mkdir()
    (source / "model.py").write_text(script)
    result = CliRunner().invoke(main, ["check", image, "--entry-point", "model.py", "--source-dir", str(source),
                                       "--timeout", "120"])
    assert result.exit_code == 0, result.output
    for check in MUST_PASS:
        assert f"PASS    {check}" in result.stdout, result.stdout
    assert "FAIL" not in result.stdout
    assert docker_client.containers.list(all=True, filters={"label": "org.framework-sdk.check"}) == []
    return result.stdout


def test_check_passes_the_chainer_image_with_a_user_script(docker_client, chainer_image, tmp_path):
    check_with_script(docker_client, chainer_image, tmp_path, CHAINER_LINEAR)


def test_check_passes_the_python_image_with_a_user_script(docker_client, python_image, tmp_path):
    check_with_script(docker_client, python_image, tmp_path, CENTROIDS)


def test_check_without_the_script_says_what_is_missing(docker_client, python_image):
    result = CliRunner().invoke(main, ["check", python_image, "--source-dir", "."])
    assert result.exit_code != 0
    assert "go with entry_point" in result.output


def check_with_the_builtin_script(docker_client, image, framework, script):
    """Every check passes, including "a requirement cannot replace `train`/`serve`" (issue 12, defect 3:
    our images' Dockerfiles must keep /opt/venv/bin, where pip puts console scripts, from coming first)."""
    result = CliRunner().invoke(main, ["check", image, "--timeout", "120"])
    notice = (f"{image} is a {framework} framework image: its train and serve run a user's script, and none was "
              f"given (--entry-point), so the check runs the {framework} framework's built-in script {script}")
    assert result.stderr.index(notice) < result.stderr.index("  pass  train:"), result.stderr
    table = result.stdout.splitlines()
    statuses = {line[8:].split("  ")[0]: line.split()[0] for line in table[1:-1]}
    assert len(statuses) == len(conformance.SERVE_CHECKS) + 8
    assert statuses == dict.fromkeys(statuses, "PASS"), result.stdout
    assert result.exit_code == 0, result.output
    assert docker_client.containers.list(all=True, filters={"label": "org.framework-sdk.check"}) == []
    return result


def test_check_runs_the_chainer_frameworks_builtin_script_without_an_entry_point(docker_client, chainer_image):
    check_with_the_builtin_script(docker_client, chainer_image, "chainer", "softmax_regression.py")


def test_check_runs_the_python_frameworks_builtin_script_without_an_entry_point(docker_client, python_image):
    check_with_the_builtin_script(docker_client, python_image, "python", "nearest_centroid.py")


def test_check_runs_the_sklearn_frameworks_builtin_script_without_an_entry_point(docker_client, sklearn_image):
    check_with_the_builtin_script(docker_client, sklearn_image, "sklearn", "sklearn_logistic.py")


def test_check_of_a_framework_without_a_builtin_script_stops_with_the_command(docker_client, base_image):
    tag = "fsdk-test-conformance-unknown-framework:1"
    dockerfile = f"FROM {base_image}\nENV FRAMEWORK_SDK_FRAMEWORK=fsdk_test_unknown\n".encode()
    docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True, forcerm=True)
    try:
        result = CliRunner().invoke(main, ["check", tag])
    finally:
        docker_client.images.remove(tag)
    assert result.exit_code == 1
    assert f"{tag} is a fsdk_test_unknown framework image" in result.output
    assert f"framework-sdk check {tag} --entry-point train.py --source-dir src" in result.output
    assert "  pass" not in result.output and "  fail" not in result.output  # stopped before running anything
