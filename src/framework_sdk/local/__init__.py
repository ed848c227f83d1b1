"""Local mode: ``instance_type="local"`` runs training jobs, endpoints and batch transforms here.

See ``doc/local-mode.md``. :class:`LocalSession` picks the docker or process backend.
"""
from framework_sdk.local.errors import HostFailure, LocalModeError, PortInUse
from framework_sdk.local.session import LocalSession

__all__ = ["LocalSession", "LocalModeError", "HostFailure", "PortInUse"]
