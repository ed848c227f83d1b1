"""Run by Python at start-up (this folder is first on PYTHONPATH): ``/opt/ml/...`` means ``$SAGEMAKER_BASE_DIR/...``.

The process backend gives each host of a processing job its own tree instead of ``/opt/ml``.
This wraps the file functions of ``builtins``, ``io`` and ``os`` so that a path under ``/opt/ml``
passed to them names the same place in the tree; everything built on them (``pathlib``,
``shutil``, ``glob``, ``tarfile``, numpy's and pandas' readers) follows. Then the environment's
own ``sitecustomize``, if it has one, runs as it would have. Standard library only: it runs in
any environment, framework-sdk installed or not.
"""
import builtins
import functools
import io
import os
import sys

_BASE = "/opt/ml"
_TREE = os.environ.get("SAGEMAKER_BASE_DIR", "").rstrip("/")

# os functions whose first argument is a path, and those whose first two are
_ONE_PATH = ("open", "stat", "lstat", "listdir", "scandir", "mkdir", "rmdir", "remove", "unlink", "chdir", "access",
             "chmod", "utime", "truncate", "readlink", "statvfs", "mkfifo")
_TWO_PATHS = ("rename", "replace", "link", "symlink")


def _moved(path):
    """``path`` in the host's tree when it names something under /opt/ml; anything else (a file descriptor ...) as is."""
    if isinstance(path, int) or not isinstance(path, (str, bytes, os.PathLike)):
        return path
    text = os.fspath(path)
    base, tree = (_BASE, _TREE) if isinstance(text, str) else (_BASE.encode(), os.fsencode(_TREE))
    if text == base or text.startswith(base + (b"/" if isinstance(text, bytes) else "/")):
        return tree + text[len(base):]
    return path


def _one_path(function):
    @functools.wraps(function)
    def moved(path=None, *args, **kwargs):
        if path is None:  # os.listdir(), os.scandir(): the current folder
            return function(*args, **kwargs)
        return function(_moved(path), *args, **kwargs)
    return moved


def _two_paths(function):
    @functools.wraps(function)
    def moved(source, destination, *args, **kwargs):
        return function(_moved(source), _moved(destination), *args, **kwargs)
    return moved


def _install():
    opener = _one_path(io.open)
    builtins.open = io.open = opener
    for name in _ONE_PATH:
        if hasattr(os, name):
            setattr(os, name, _one_path(getattr(os, name)))
    for name in _TWO_PATHS:
        if hasattr(os, name):
            setattr(os, name, _two_paths(getattr(os, name)))


def _run_the_environments_own():
    """The ``sitecustomize`` this module hides (a later one on sys.path), run as Python would have."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


if _TREE and _TREE != _BASE:
    _install()
_run_the_environments_own()
