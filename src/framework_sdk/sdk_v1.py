"""SageMaker Python SDK v1 names: the renamed ones SageMaker v2 still accepts, and the removed ones.

Published notebooks and scripts were written for v1. A keyword argument v2 renamed and still
accepts (``train_instance_count`` -> ``instance_count``, ...) works here too, with a
``DeprecationWarning`` that names the new argument (and a log line, once per name and process);
one v2 removed (``update_endpoint``, a predictor's ``content_type``, ...) raises
:class:`~framework_sdk.exceptions.ConfigurationError` naming what replaces it.
:func:`accepts` applies a table to a constructor or method.
"""
from __future__ import annotations

import functools
import logging
import sys
import warnings
from collections.abc import Mapping
from typing import Any, Callable, TypeVar, cast

from .exceptions import ConfigurationError

LOGGER = logging.getLogger("framework_sdk")

# v1 keyword argument -> its v2 name, where v2 still accepts the v1 one.
ESTIMATOR_RENAMED = {
    "train_instance_count": "instance_count",
    "train_instance_type": "instance_type",
    "train_max_run": "max_run",
    "train_use_spot_instances": "use_spot_instances",
    "train_max_wait": "max_wait",
    "train_volume_size": "volume_size",
    "train_volume_kms_key": "volume_kms_key",
}
FRAMEWORK_RENAMED = {"image_name": "image_uri"}
PREDICTOR_RENAMED = {"endpoint": "endpoint_name"}

# v1 keyword argument -> what to do in v2, where v2 removed it.
_SERDE = "pass serializer=... and deserializer=... to deploy() (or set them on the predictor) instead"
ESTIMATOR_REMOVED = {
    "enable_cloudwatch_metrics": "SageMaker emits CloudWatch metrics for every training job; leave the argument "
                                 "out (metric_definitions defines metrics of your own)",
}
DEPLOY_REMOVED = {
    "update_endpoint": "v2's replacement is Predictor.update_endpoint(), which framework-sdk does not have: "
                       "delete the endpoint (predictor.delete_endpoint()) and deploy again, or deploy under "
                       "another endpoint_name",
}
CREATE_MODEL_REMOVED = {"serializer": _SERDE, "deserializer": _SERDE, "content_type": _SERDE, "accept": _SERDE}
PREDICTOR_REMOVED = {
    "content_type": "the serializer sets the request's content type: pass serializer=... instead",
    "accept": "the deserializer sets the Accept header: pass deserializer=... instead",
}
DELETE_ENDPOINT_REMOVED = ("estimator.delete_endpoint() was removed in SageMaker Python SDK v2: call "
                           "delete_endpoint() on the predictor that deploy() returned")

_logged: set[str] = set()
F = TypeVar("F", bound=Callable[..., Any])


def accepts(renamed: Mapping[str, str] | None = None,
            removed: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """Decorator: v1 keyword arguments of ``renamed`` reach the function under their v2 names (with a
    warning); those of ``removed`` raise :class:`ConfigurationError` saying what to do instead.

    A v2 argument passed as ``None`` counts as not given (subclasses pass their defaults on).
    """
    renamed, removed = dict(renamed or {}), dict(removed or {})

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            for old, advice in removed.items():
                if old in kwargs:
                    raise ConfigurationError(f"{old} was removed in SageMaker Python SDK v2: {advice}")
            for old, new in renamed.items():
                if old in kwargs:
                    if kwargs.get(new) is not None:
                        raise ConfigurationError(f"{old} and {new} name the same argument (v1 and v2 names); "
                                                 f"pass only {new}")
                    warn_renamed(old, new)
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return cast(F, call)

    return decorate


def warn_renamed(old: str, new: str, what: str = "argument") -> None:
    """Warn that v1's ``old`` is v2's ``new``: a ``DeprecationWarning`` at the caller, logged once per name."""
    message = (f"the {what} {old} was renamed {new} in SageMaker Python SDK v2; it works, but use {new} "
               f"instead")
    warnings.warn(message, DeprecationWarning, stacklevel=_callers_level())
    if old not in _logged:
        _logged.add(old)
        LOGGER.warning(message)


def _callers_level() -> int:
    """The ``stacklevel`` of the first frame outside framework-sdk (the user's call)."""
    frame: Any = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("framework_sdk"):
        frame, level = frame.f_back, level + 1
    return level
