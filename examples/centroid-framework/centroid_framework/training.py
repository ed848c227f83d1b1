"""The framework's start module: ``python -m framework_sdk.container.runner centroid_framework.training``.

Framework mode: the user's script defines ``train(...)`` (its arguments named from the training
environment and the hyperparameters) returning a model, and optionally ``save(model, model_dir)``;
a script without ``train`` runs as a plain script (script mode).
"""
import os

import numpy as np

from framework_sdk.container import Environment, call, fetch, import_module, install, run


class CentroidEnvironment(Environment):
    """The toolkit's Environment plus what this framework derives from it."""

    @property
    def normalize(self):
        return bool(self.framework_params.get("sagemaker_centroid_normalize", True))


def default_save(model, model_dir):
    np.savez(os.path.join(model_dir, "centroids.npz"), classes=model["classes"], centroids=model["centroids"])


def main():
    from framework_sdk.container import frameworks

    environment = CentroidEnvironment.from_files()
    environment = environment.with_framework_defaults(
        frameworks.training_defaults(frameworks.load("centroid"), environment))
    code_dir = fetch(environment.submit_directory or environment.code_dir, environment.code_dir,
                     region=environment.region)
    install(code_dir)
    environment.model_dir.mkdir(parents=True, exist_ok=True)
    module = import_module(environment.program, code_dir)
    if not callable(getattr(module, "train", None)):  # script mode
        env = {**os.environ, **environment.to_env_vars(), "PYTHONPATH": str(code_dir)}
        run(code_dir, environment.program, environment.to_cmd_args(), env=env)
        return
    model = call(module.train, environment, normalize=environment.normalize)
    save = getattr(module, "save", default_save)
    save(model, str(environment.model_dir))
    print(f"saved the model to {environment.model_dir}", flush=True)
