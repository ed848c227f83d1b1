"""The :class:`Chainer` estimator: script mode for Chainer, with ChainerMN's MPI options.

``use_mpi``, ``num_processes``, ``process_slots_per_host`` and ``additional_mpi_options``
become the ``sagemaker_use_mpi``, ``sagemaker_num_processes``,
``sagemaker_process_slots_per_host`` and ``sagemaker_additional_mpi_options``
hyperparameters the Chainer image's MPI runner reads. MPI is on by default when
``instance_count`` is 2 or more.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import contract
from ..estimator import Framework
from .model import ChainerModel, ChainerPredictor

if TYPE_CHECKING:
    from .._types import Response
    from ..model import FrameworkModel

MPI_OPTIONS = {
    "use_mpi": contract.USE_MPI_PARAM,
    "num_processes": contract.NUM_PROCESSES_PARAM,
    "process_slots_per_host": contract.PROCESS_SLOTS_PARAM,
    "additional_mpi_options": contract.MPI_OPTIONS_PARAM,
}


class Chainer(Framework):
    """``Chainer(entry_point, source_dir=None, hyperparameters=None, instance_type=..., instance_count=...,
    framework_version="7.8.1", py_version="py3", use_mpi=None, num_processes=None,
    process_slots_per_host=None, additional_mpi_options=None, ...)``.
    """

    _framework_name = "chainer"
    predictor_cls = ChainerPredictor
    model_cls = ChainerModel

    def __init__(self, entry_point: str, use_mpi: bool | None = None, num_processes: int | None = None,
                 process_slots_per_host: int | None = None, additional_mpi_options: str | None = None,
                 source_dir: str | None = None, hyperparameters: Mapping[str, Any] | None = None,
                 framework_version: str | None = None, py_version: str = "py3", **kwargs: Any) -> None:
        self.use_mpi = use_mpi
        self.num_processes = num_processes
        self.process_slots_per_host = process_slots_per_host
        self.additional_mpi_options = additional_mpi_options
        super().__init__(entry_point, source_dir=source_dir, hyperparameters=hyperparameters,
                         framework_version=framework_version, py_version=py_version, **kwargs)

    def _framework_hyperparameters(self) -> dict[str, Any]:
        use_mpi = self.use_mpi if self.use_mpi is not None else (self.instance_count or 1) >= 2
        values: dict[str, Any] = {contract.USE_MPI_PARAM: bool(use_mpi)}
        for option, key in MPI_OPTIONS.items():
            value = getattr(self, option)
            if option != "use_mpi" and value is not None:
                values[key] = value
        return values

    # SageMaker v2's argument order (model_server_workers first) differs from Framework.create_model's
    def create_model(self, model_server_workers: int | None = None,  # type: ignore[override]
                     role: str | None = None, entry_point: str | None = None, source_dir: str | None = None,
                     dependencies: Sequence[str] | None = None, **kwargs: Any) -> FrameworkModel:
        """A :class:`ChainerModel` of the latest job (SageMaker v2's argument order: ``model_server_workers`` first)."""
        if model_server_workers is not None:
            kwargs["model_server_workers"] = model_server_workers
        return super().create_model(role=role, entry_point=entry_point, source_dir=source_dir,
                                    dependencies=dependencies, **kwargs)

    @classmethod
    def _prepare_init_params_from_job_description(cls, job_details: Response,
                                                  model_channel_name: str | None = None) -> dict[str, Any]:
        params = super()._prepare_init_params_from_job_description(job_details, model_channel_name)
        hyperparameters = params["hyperparameters"]
        for option, key in MPI_OPTIONS.items():
            if key in hyperparameters:
                params[option] = hyperparameters.pop(key)
        return params
