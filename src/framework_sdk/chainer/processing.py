"""The :class:`ChainerProcessor`: a processing script with its ``source_dir`` in the Chainer image."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..processing import FrameworkProcessor
from .estimator import Chainer


class ChainerProcessor(FrameworkProcessor):
    """``ChainerProcessor(framework_version, role, instance_count, instance_type, py_version='py3',
    image_uri=None, command=None, ...)``: :class:`~framework_sdk.processing.FrameworkProcessor` for
    Chainer (SageMaker v2's framework-processor signature). ``run(code, source_dir=None,
    dependencies=None, inputs=None, outputs=None, arguments=None, ...)`` runs ``code`` with
    Chainer (and ``source_dir``'s ``requirements.txt``) installed, e.g. to evaluate a trained
    ``model.tar.gz``.
    """

    def __init__(self, framework_version: str | None = None, role: str | None = None,
                 instance_count: int | None = None, instance_type: str | None = None, py_version: str = "py3",
                 image_uri: str | None = None, command: Sequence[str] | None = None, **kwargs: Any) -> None:
        super().__init__(Chainer, framework_version, role, instance_count, instance_type, py_version=py_version,
                         image_uri=image_uri, command=command, **kwargs)
