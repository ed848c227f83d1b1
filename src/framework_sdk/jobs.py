"""Where jobs run and what a started job is, shared by estimators, models and the transformer.

:func:`resolve_session` picks the session for an instance type (``local``/``local_gpu`` need a
``LocalSession``; anything else an AWS ``Session``). :class:`TrainingJob` and
:class:`TransformJob` are jobs once started: ``name``, ``describe()``, ``wait(logs=...)``,
``stop()``. This module sits below the estimator, model and transformer modules so none of
them needs another for these.

This is the one client-core module that imports :mod:`framework_sdk.local`: SageMaker
Python SDK v2 makes a ``LocalSession`` when a local instance type comes without a session,
and so does :func:`resolve_session` (inside the function, so ``import framework_sdk.jobs``
does not load local mode).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import contract
from .exceptions import ConfigurationError
from .session import Session

if TYPE_CHECKING:
    from ._types import Response

LOCAL_INSTANCE_TYPES = contract.LOCAL_INSTANCE_TYPES


def is_local(instance_type: str | None) -> bool:
    """True for the instance types that run on this machine (``local``, ``local_gpu``)."""
    return contract.is_local_instance_type(instance_type)


def resolve_session(sagemaker_session: Session | None, instance_type: str | None) -> Session:
    """The session to use: the given one (checked against ``instance_type``), or a new one.

    A ``local``/``local_gpu`` instance type needs a ``LocalSession`` (made when none is given);
    any other instance type needs an AWS ``Session``.
    """
    local = is_local(instance_type)
    if sagemaker_session is None:
        if local:
            from .local import LocalSession

            return LocalSession()
        return Session()
    if local and not sagemaker_session.local_mode:
        raise ConfigurationError(
            f"instance_type {instance_type!r} runs on this machine and needs a LocalSession: pass "
            f"sagemaker_session=framework_sdk.LocalSession() or leave sagemaker_session unset")
    if instance_type and not local and sagemaker_session.local_mode:
        raise ConfigurationError(
            f"instance_type {instance_type!r} runs on AWS SageMaker but the session is a LocalSession: use "
            f"instance_type='local' (or 'local_gpu'), or pass an AWS Session")
    return sagemaker_session


def check_role(role: str | None, sagemaker_session: Session) -> None:
    """Raise :class:`ConfigurationError` when a job for AWS SageMaker has no ``role`` (local mode needs none)."""
    if not role and not sagemaker_session.local_mode:
        raise ConfigurationError(
            "role is required on AWS SageMaker: pass role='arn:aws:iam::<account>:role/<name>', an IAM "
            "role SageMaker can assume with access to your S3 data (local mode needs none)")


class StartedJob:
    """A job that has been started: its ``name`` (also ``job_name``) and the session that runs it."""

    def __init__(self, sagemaker_session: Session, name: str) -> None:
        self.sagemaker_session = sagemaker_session
        self.name = name

    @property
    def job_name(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class TrainingJob(StartedJob):
    """A started training job: ``name``, ``describe()``, ``wait(logs=...)``, ``stop()``."""

    def describe(self) -> Response:
        return self.sagemaker_session.describe_training_job(self.name)

    def wait(self, logs: str | bool = "All") -> Response:
        """Block until the job ends (streaming its logs unless ``logs`` is ``'None'``/False)."""
        if logs and logs != "None":
            return self.sagemaker_session.logs_for_job(self.name, wait=True, log_type=logs)
        return self.sagemaker_session.wait_for_job(self.name)

    def stop(self) -> None:
        self.sagemaker_session.sagemaker_client.stop_training_job(TrainingJobName=self.name)


class TransformJob(StartedJob):
    """A started transform job: ``name``, ``describe()``, ``wait(logs=...)``, ``stop()``."""

    def describe(self) -> Response:
        return self.sagemaker_session.describe_transform_job(self.name)

    def wait(self, logs: bool = True) -> Response:
        if logs:
            return self.sagemaker_session.logs_for_transform_job(self.name, wait=True)
        return self.sagemaker_session.wait_for_transform_job(self.name)

    def stop(self) -> None:
        self.sagemaker_session.sagemaker_client.stop_transform_job(TransformJobName=self.name)
