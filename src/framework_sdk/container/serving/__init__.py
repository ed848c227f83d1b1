"""The model server of the SageMaker container contract (``python -m framework_sdk.container serve``).

User code imports :class:`HTTPError` to answer with a status of its choosing, and may
declare a trailing ``context`` argument (a :class:`Context`) on any handler.
"""
from framework_sdk.container.serving.errors import HTTPError


def main(argv=None):
    """Run the server until SIGTERM; returns the process exit code."""
    from framework_sdk.container.serving.server import main as run

    return run(argv)


def __getattr__(name):
    if name == "Context":
        from framework_sdk.container.serving.handlers import Context

        return Context
    raise AttributeError(name)


__all__ = ["main", "HTTPError", "Context"]
