"""Type aliases of the public API's annotations.

Modules import this only under ``typing.TYPE_CHECKING``: annotations are never evaluated at
run time (``from __future__ import annotations``), so it costs ``import framework_sdk`` nothing.
"""
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from .inputs import TrainingInput

#: ``{"key": "value"}`` or ``[{"Key": "key", "Value": "value"}]``: the tag forms SageMaker v2 accepts.
Tags = Union[dict[str, str], Sequence[Mapping[str, str]]]

#: A botocore-shaped request (``CreateTrainingJob``'s fields ...) as built for a SageMaker client.
Request = dict[str, Any]

#: A botocore-shaped response (``DescribeTrainingJob``'s ...) as a SageMaker client returns it.
Response = dict[str, Any]

#: What ``fit`` takes: a URI (channel ``training``), a ``TrainingInput``, or a dict of channel name to either.
Inputs = Union[str, "TrainingInput", dict[str, str], dict[str, "TrainingInput"], dict[str, Union[str, "TrainingInput"]]]
