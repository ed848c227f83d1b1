#!/usr/bin/env python3
"""The project's single entry script: `python3 tasks.py demo`, `python3 tasks.py lint` and `python3 tasks.py test`.

Each command creates (or reuses) the virtual environment `.venv`, installs the
project into it, and runs there. Nothing needs to be installed by hand first.
"""
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
LINT_IMPORTS = VENV / ("Scripts/lint-imports.exe" if os.name == "nt" else "bin/lint-imports")


def ensure_venv(extras):
    """Create `.venv` once and (re)install the project with `extras` when its spec changed."""
    if not PY.exists():
        print(f"tasks: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    spec = (ROOT / "pyproject.toml").read_bytes() + extras.encode()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_bytes() == spec:
        return
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    print(f"tasks: installing {target} into {VENV}", flush=True)
    run([str(PY), "-m", "pip", "install", "-q", "-e", target])
    stamp.write_bytes(spec)


def run(cmd, **kwargs):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=True, **kwargs)


def demo(args):
    """Train, deploy and predict a small Chainer model on the embedded local default."""
    ensure_venv("")
    run([str(PY), str(ROOT / "examples" / "demo.py"), *args])


def lint(args):
    """The linter (ruff), the layer contracts (import-linter, .importlinter) and the type checker (mypy); a finding
    fails."""
    ensure_venv("test")
    run([str(PY), "-m", "ruff", "check", *args])
    run([str(LINT_IMPORTS), "--no-cache"])
    if sys.version_info < (3, 10):
        print("tasks: mypy skipped: it needs Python 3.10 or later", flush=True)
        return
    run([str(PY), "-m", "mypy"])


def test(args):
    """Run lint, then the whole test suite: unit tier, integration tier (with a real Docker engine), then the wheel
    tier."""
    lint([])
    run([str(PY), str(ROOT / "scripts" / "setup_test_host.py")])
    result = subprocess.run([str(PY), "-m", "pytest", "-ra", "tests/unit", "tests/integ", "tests/wheel", *args], cwd=ROOT)
    sys.exit(result.returncode)


COMMANDS = {"demo": demo, "lint": lint, "test": test}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__.strip())
        print("\ncommands: " + ", ".join(COMMANDS))
        sys.exit(2)
    try:
        COMMANDS[sys.argv[1]](sys.argv[2:])
    except subprocess.CalledProcessError as error:
        sys.exit(error.returncode)
