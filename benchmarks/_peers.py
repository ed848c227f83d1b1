"""Throwaway virtual environments holding the peers the benchmarks measure us against."""
import os
import subprocess
import sys
import venv
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "framework-sdk" / "bench"


def peer_python(name, *requirements):
    """The python of ``CACHE/name``, a venv made once with ``requirements`` installed."""
    python = CACHE / name / "bin" / "python"
    stamp = CACHE / name / ".requirements"
    wanted = "\n".join(requirements)
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        print(f"benchmark: making {CACHE / name} with {' '.join(requirements)} (once)...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(CACHE / name)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
        stamp.write_text(wanted)
    return str(python)


def sagemaker_v2_python():
    """A Python where the SageMaker Python SDK v2 imports (``sagemaker<3``)."""
    return peer_python("sagemaker-v2", "sagemaker<3", "numpy<2.3")


def peer_env():
    """Environment for running a peer: no telemetry, no user config lookups."""
    env = dict(os.environ, PYTHONPATH="", SAGEMAKER_DISABLE_TELEMETRY="true")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return env
