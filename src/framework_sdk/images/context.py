"""The build context an image is built from: deterministic tar bytes for identical inputs.

It holds the image folder at the top, ``toolkit/`` (the installed toolkit:
:class:`framework_sdk.images.toolkit.Toolkit`, with its generated ``pyproject.toml`` and
``requirements.txt``), ``framework/`` (the same for the distribution that registers the image's
framework, when that is not framework-sdk: an out-of-tree framework's package) and ``build-ca.pem`` (the CA bundle named by ``PIP_CERT``,
``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE``, or empty), with fixed mtimes, owners and order,
so unchanged inputs hit the engine's layer cache and a second build takes seconds.
"""
import io
import os
import tarfile
from pathlib import Path

from framework_sdk.images.definitions import ImageError
from framework_sdk.images.toolkit import Toolkit, file_mode, tree_files

CA_BUNDLE_ENV_VARS = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
CA_BUNDLE_IN_IMAGE = "/usr/local/share/framework-sdk/build-ca.pem"
CONTEXT_MTIME = 946684800  # 2000-01-01: fixed, and late enough for zip-based wheel builds


def ca_bundle(environ=None):
    """The CA bundle named by PIP_CERT, REQUESTS_CA_BUNDLE or SSL_CERT_FILE (first set), or None."""
    environ = os.environ if environ is None else environ
    for variable in CA_BUNDLE_ENV_VARS:
        value = environ.get(variable)
        if not value:
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            raise ImageError(f"{variable}={value} names no file; point it at a PEM CA bundle or unset it")
        return path
    return None


def build_context(spec, ca_bundle_path=None, toolkit=None):
    """The build context of ``spec`` as tar bytes, identical for identical inputs.

    ``toolkit`` defaults to the installed one (:meth:`Toolkit.installed`).
    """
    toolkit = toolkit or Toolkit.installed()
    entries = [(path.relative_to(spec.folder).as_posix(), path.read_bytes(), file_mode(path))
               for path in tree_files(spec.folder)]
    entries += [(f"toolkit/{name}", data, mode) for name, data, mode in toolkit.entries()]
    registering = Toolkit.registering(spec.framework)
    if registering is not None:
        entries += [(f"framework/{name}", data, mode) for name, data, mode in registering.entries()]
    entries.append(("build-ca.pem", Path(ca_bundle_path).read_bytes() if ca_bundle_path else b"", 0o644))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, CONTEXT_MTIME
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
