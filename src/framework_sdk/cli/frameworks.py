"""IMAGE_OR_FRAMEWORK of the local-mode commands: a framework's image and estimator class, or a given image,
made into the estimator or model to run."""
import re

import click

from framework_sdk.cli.options import _json_values, _uri



def _registered_class(framework, attribute):
    """The client class a registered framework names (``ESTIMATOR`` / ``MODEL``), or None when it names none."""
    from framework_sdk.container import frameworks

    reference = getattr(frameworks.load(framework), attribute, None)
    return frameworks.resolve(reference) if reference else None


def _is_framework(name):
    from framework_sdk import image_uris

    return name in image_uris.FRAMEWORKS


def _framework_version(framework, version):
    """``version``, or the newest one we build images for."""
    from framework_sdk import image_uris

    if version:
        return version
    key = lambda text: [int(part) if part.isdigit() else -1 for part in re.split(r"[.\-]", text)]  # noqa: E731
    return max(image_uris.supported_versions(framework), key=key)


def _framework_image(framework, version, instance_type):
    from framework_sdk import image_uris

    return image_uris.retrieve(framework, _framework_version(framework, version), instance_type=instance_type)


def _model(image_or_framework, model_data, entry_point, source_dir, framework_version, env, session,
           instance_type):
    """The model to serve: a framework's image or the given one, with inference code when given."""
    from framework_sdk.model import FrameworkModel, Model

    image = image_or_framework
    if _is_framework(image_or_framework):
        model_cls = _registered_class(image_or_framework, "MODEL")
        if model_cls is not None and entry_point:
            return model_cls(_uri(model_data, "--model-data"), None, entry_point, source_dir=source_dir,
                             framework_version=_framework_version(image_or_framework, framework_version),
                             env=env, sagemaker_session=session)
        image = _framework_image(image_or_framework, framework_version, instance_type)
    model_data = _uri(model_data, "--model-data")
    if entry_point:
        return FrameworkModel(model_data, image, None, entry_point, source_dir=source_dir, env=env,
                              sagemaker_session=session)
    if source_dir:
        raise click.UsageError("--source-dir needs --entry-point: the inference script inside it")
    return Model(image, model_data, env=env, sagemaker_session=session)


def _estimator(image_or_framework, entry_point, source_dir, framework_version, hyperparameters, session,
               **arguments):
    """A framework estimator (script mode), an image with a script, or a plain image."""
    from framework_sdk.estimator import Estimator, Framework

    if _is_framework(image_or_framework):
        if not entry_point:
            raise click.UsageError(f"{image_or_framework} is a framework: give your training script with "
                                   f"--entry-point (and its folder with --source-dir)")
        version = _framework_version(image_or_framework, framework_version)
        cls = _registered_class(image_or_framework, "ESTIMATOR")
        if cls is not None:  # the framework's own estimator class (Chainer's adds MPI options)
            return cls(entry_point, source_dir=source_dir, framework_version=version,
                       hyperparameters=_json_values(hyperparameters), sagemaker_session=session, **arguments)
        image = _framework_image(image_or_framework, version, arguments["instance_type"])
        return Framework(entry_point, source_dir, hyperparameters=_json_values(hyperparameters), image_uri=image,
                         framework_version=version, sagemaker_session=session, **arguments)
    if entry_point:  # an image with our toolkit (or SageMaker's) running a script
        return Framework(entry_point, source_dir, hyperparameters=_json_values(hyperparameters),
                         image_uri=image_or_framework, sagemaker_session=session, **arguments)
    if source_dir:
        raise click.UsageError("--source-dir needs --entry-point: the training script inside it")
    # A bring-your-own image reads hyperparameters.json itself: the values go as typed.
    return Estimator(image_or_framework, hyperparameters=hyperparameters, sagemaker_session=session, **arguments)
