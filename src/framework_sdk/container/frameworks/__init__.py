"""Framework extensions of the container toolkit, chosen by the image's ``FRAMEWORK_SDK_FRAMEWORK``.

A framework module (``frameworks/<name>.py``) may define:

- ``training_defaults(environment) -> dict``: framework-parameter defaults (``sagemaker_*`` keys)
  merged under the job's own values before training starts;
- serving functions (``default_input_fn`` and friends) used by the model server;
- ``CHECK_SCRIPT``: a small training script (a path relative to the module's package, shipped
  as package data) that ``framework-sdk check`` runs in the framework's image when the user
  gives none. It trains on a numeric CSV (label first) and serves with ``model_fn``.
"""
import importlib
import importlib.resources
import re

from framework_sdk.contract import FRAMEWORK_ENV as FRAMEWORK_ENV  # re-exported: the variable naming the framework


def load(name):
    """The framework module called ``name`` (e.g. ``"chainer"``), or None when ``name`` is empty or unknown."""
    if not name or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        return None
    qualified = f"{__name__}.{name}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as error:
        if error.name == qualified:
            return None
        raise


def training_defaults(framework, environment):
    """``framework.training_defaults(environment)`` when the module defines it, else ``{}``."""
    hook = getattr(framework, "training_defaults", None)
    return dict(hook(environment)) if hook else {}


def check_script(framework):
    """``(file name, source)`` of the framework's built-in ``CHECK_SCRIPT``, or None when it declares none."""
    relative = getattr(framework, "CHECK_SCRIPT", None)
    if not relative:
        return None
    resource = importlib.resources.files(framework.__spec__.parent)
    for part in relative.split("/"):
        resource = resource.joinpath(part)
    return resource.name, resource.read_text(encoding="utf-8")
