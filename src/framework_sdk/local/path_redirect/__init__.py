"""Where a Python program on the process backend finds ``/opt/ml`` paths written literally in its code.

:data:`FOLDER` holds a ``sitecustomize`` module: first on ``PYTHONPATH``, it makes the file
functions of a Python program (``open``, ``os.stat``, ``os.listdir``, ``os.scandir``, ...)
read a path under ``/opt/ml`` as the same path under ``$SAGEMAKER_BASE_DIR``, the host's own
tree. The local processing job puts it there for its hosts when their tree is not at
``/opt/ml``, so a processing script that opens ``/opt/ml/processing/input/data.csv`` runs
unchanged. What does not go through Python's file functions (another program, a C library
opening files itself) still sees the real ``/opt/ml``: pass such paths as arguments (the
processing job moves those too) or build them from ``SAGEMAKER_BASE_DIR``.
"""
import os

FOLDER = os.path.dirname(os.path.abspath(__file__))
