"""Training inputs: :class:`TrainingInput` and turning ``fit(inputs)`` into ``InputDataConfig``.

``fit`` accepts a URI string (channel ``training``), a :class:`TrainingInput`, or a dict of
channel name to either. ``s3://`` URIs become an ``S3DataSource``; ``file://`` URIs (local
mode only) become a ``FileDataSource`` with ``FileUri`` and ``FileDataDistributionType``, the
shape SageMaker Python SDK's local mode uses, which the local engine reads.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import contract
from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from ._types import Inputs, Request

DEFAULT_CHANNEL = "training"
DISTRIBUTIONS = contract.S3_DATA_DISTRIBUTIONS
INPUT_MODES = contract.INPUT_MODES
COMPRESSIONS = contract.COMPRESSION_TYPES


class TrainingInput:
    """One training channel's data source (SageMaker Python SDK v2's ``TrainingInput``).

    ``s3_data`` is an ``s3://`` URI (or ``file://`` in local mode); ``distribution`` is
    ``FullyReplicated`` (default) or ``ShardedByS3Key``; ``compression`` is ``None`` or
    ``Gzip``; ``input_mode`` overrides the estimator's for this channel.
    """

    def __init__(self, s3_data: str, distribution: str | None = None, compression: str | None = None,
                 content_type: str | None = None, record_wrapping: str | None = None,
                 s3_data_type: str = contract.S3_PREFIX, input_mode: str | None = None,
                 attribute_names: Iterable[str] | None = None, target_attribute_name: str | None = None,
                 shuffle_config: Any = None) -> None:
        _check_choice("distribution", distribution, DISTRIBUTIONS)
        _check_choice("compression", compression, COMPRESSIONS)
        _check_choice("input_mode", input_mode, INPUT_MODES)
        _check_choice("s3_data_type", s3_data_type, contract.S3_DATA_TYPES)
        self.s3_data = s3_data
        self.config: Request = {
            "DataSource": {"S3DataSource": {
                "S3DataType": s3_data_type,
                "S3Uri": s3_data,
                "S3DataDistributionType": distribution or contract.FULLY_REPLICATED,
            }},
        }
        if attribute_names:
            self.config["DataSource"]["S3DataSource"]["AttributeNames"] = list(attribute_names)
        if compression:
            self.config["CompressionType"] = compression
        if content_type:
            self.config["ContentType"] = content_type
        if record_wrapping:
            self.config["RecordWrapperType"] = record_wrapping
        if input_mode:
            self.config["InputMode"] = input_mode
        if target_attribute_name:
            self.config["TargetAttributeName"] = target_attribute_name
        if shuffle_config is not None:
            self.config["ShuffleConfig"] = {"Seed": int(getattr(shuffle_config, "seed", shuffle_config))}

    def __repr__(self) -> str:
        return f"TrainingInput({self.s3_data!r})"


def _check_choice(name: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise ConfigurationError(f"{name}={value!r} is not valid; use one of {', '.join(choices)}")


def uri_scheme(uri: object) -> str:
    """``'s3'``, ``'file'`` or ``''`` for anything that is not such a URI."""
    if isinstance(uri, str):
        for scheme in ("s3", "file"):
            if uri.startswith(f"{scheme}://") and len(uri) > len(scheme) + 3:
                return scheme
    return ""


def check_uri(uri: str, what: str, local_mode: bool) -> str:
    """Raise :class:`ConfigurationError` unless ``uri`` is ``s3://`` (or ``file://`` in local mode)."""
    scheme = uri_scheme(uri)
    if scheme == "s3":
        return uri
    if scheme == "file":
        if local_mode:
            return uri
        raise ConfigurationError(
            f"{what} {uri!r} is a file:// URI, which only local mode can read; upload it with "
            f"session.upload_data(...) and pass the s3:// URI, or run in local mode (instance_type='local')")
    raise ConfigurationError(
        f"{what} {uri!r} is not a URI: pass s3://bucket/prefix (upload local data first with "
        f"session.upload_data(path)), or file:///absolute/path in local mode")


def channel_config(name: str, source: str | TrainingInput, local_mode: bool) -> Request:
    """The ``InputDataConfig`` entry for one channel; ``source`` is a URI or a :class:`TrainingInput`."""
    if isinstance(source, TrainingInput):
        config = _copy(source.config)
    elif isinstance(source, str):
        config = TrainingInput(source).config
    else:
        raise ConfigurationError(
            f"input for channel {name!r} is a {type(source).__name__}; pass an s3:// URI string or "
            f"a TrainingInput")
    s3 = config["DataSource"]["S3DataSource"]
    uri = check_uri(s3["S3Uri"], f"input for channel {name!r}", local_mode)
    if uri_scheme(uri) == "file":
        config["DataSource"] = {"FileDataSource": {
            "FileUri": uri, "FileDataDistributionType": s3["S3DataDistributionType"]}}
    config["ChannelName"] = name
    return config


def input_data_config(inputs: Inputs | None, local_mode: bool) -> list[Request]:
    """``fit(inputs)`` -> ``InputDataConfig`` list (``None`` -> ``[]``, a bare source -> channel ``training``)."""
    if inputs is None:
        return []
    if isinstance(inputs, (str, TrainingInput)):
        inputs = {DEFAULT_CHANNEL: inputs}
    if not isinstance(inputs, dict):
        raise ConfigurationError(
            f"inputs must be a URI string, a TrainingInput or a dict of channel name to either, "
            f"not {type(inputs).__name__}")
    configs = []
    for name, source in inputs.items():
        if not contract.valid_channel_name(name):
            raise ConfigurationError(f"channel name {name!r} is not valid; use 1 to 64 letters, digits, '.', '-' "
                                     f"and '_'")
        configs.append(channel_config(name, source, local_mode))
    return configs


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
