"""The container toolkit's errors: everything it raises on purpose derives from :class:`ToolkitError`.

One ``except ToolkitError`` catches "the toolkit refused or failed on purpose" (the message
says what to fix); anything else is a bug. The toolkit has its own root, apart from the
client's ``SDKError``: it runs inside images that never import the client.

Here: :class:`ToolkitError`, :class:`ConfigurationError` and :class:`StartupError`. The others
live beside the code that raises them and derive from :class:`ToolkitError` too:
``archives.UnsafeArchiveError``, ``modules.UserCodeError`` (and ``UserCodeInstallError``),
``runners.MPIError``, ``training.TrainingFailed`` and ``serving.errors.HTTPError``. One
exception is deliberate: ``serving.errors.RequestTimeout`` is a ``BaseException``, so a
handler's ``except Exception`` cannot swallow a request's timeout; it never leaves the server.
"""


class ToolkitError(Exception):
    """Base class of the errors the container toolkit raises on purpose."""


class ConfigurationError(ToolkitError, ValueError):
    """The container's configuration cannot be used: the ``/opt/ml`` tree, one of its config files, or an
    environment variable (``SAGEMAKER_*``); the message names it and how to fix it."""


class StartupError(ToolkitError):
    """A problem that stops the model server before it answers anything; the message says how to fix it."""
