"""Errors of local mode; each message says what went wrong and how to fix it."""
from framework_sdk.exceptions import SDKError


class LocalModeError(SDKError, RuntimeError):
    """Local mode cannot run what was asked (no engine, missing image, port in use, ...)."""


class HostFailure(LocalModeError):
    """A host of a local job or endpoint failed; the message holds its exit code, failure file and log tail."""

    def __init__(self, message, host=None, exit_code=None):
        super().__init__(message)
        self.host = host
        self.exit_code = exit_code


class PortInUse(LocalModeError):
    """The port a local endpoint was to listen on is taken."""

    def __init__(self, port, detail=""):
        super().__init__(f"port {port} is already in use on this machine"
                         f"{' (' + detail + ')' if detail else ''}")
        self.port = port
