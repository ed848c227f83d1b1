"""Estimators: :class:`EstimatorBase`, :class:`Estimator` (any image) and :class:`Framework` (script mode).

Names, arguments and defaults follow SageMaker Python SDK v2. ``fit`` builds one
``CreateTrainingJob`` request and sends it through ``sagemaker_session.sagemaker_client``;
AWS and local mode (``instance_type='local'`` / ``'local_gpu'`` with a ``LocalSession``)
share that one path. Every argument is checked before the first request is sent.

Hooks for framework estimators (``framework_sdk.chainer.Chainer`` is one)::

    class Chainer(Framework):
        _framework_name = "chainer"           # key of framework_sdk.image_uris.FRAMEWORKS
        predictor_cls = ChainerPredictor      # what deploy() returns
        model_cls = ChainerModel              # a FrameworkModel subclass; create_model() builds it

        def _framework_hyperparameters(self): # extra sagemaker_* entries, JSON-encoded with the rest
            return {"sagemaker_mpi_enabled": self.use_mpi, ...}

        def _model_kwargs(self):              # extra constructor arguments for model_cls
            return {"model_server_workers": ...}

        @classmethod
        def _prepare_init_params_from_job_description(cls, job_details, model_channel_name=None):
            params = super()._prepare_init_params_from_job_description(job_details, model_channel_name)
            hps = params["hyperparameters"]   # already JSON-decoded; the five standard keys are gone
            params["use_mpi"] = hps.pop("sagemaker_mpi_enabled", False)
            return params

``Framework`` already restores ``entry_point``, ``source_dir``, ``container_log_level``,
``framework_version`` and ``py_version`` (from the image tag) in ``attach``.

Modules: :mod:`.base` (``EstimatorBase``: arguments, the ``CreateTrainingJob`` request, fit, attach,
deploy; ``Estimator``) and :mod:`.framework` (``Framework``: script mode).
"""
from framework_sdk.estimator.base import Estimator, EstimatorBase, check_hyperparameters
from framework_sdk.estimator.framework import Framework

__all__ = ["Estimator", "EstimatorBase", "Framework", "check_hyperparameters"]
