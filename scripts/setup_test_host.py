#!/usr/bin/env python3
"""Prepare this machine for the integration tier: Debian packages, mpi4py, a Docker engine.

- When we are root, install the Debian packages in APT_PACKAGES that are missing.
- Build mpi4py from source against Debian's Open MPI into the running Python
  (``pip install --no-binary mpi4py``), unless it already reports Open MPI.
- When no Docker engine answers, start ``dockerd`` in the background (removing a
  stale pid file first) and wait, bounded, until it answers.

Outside CI a missing engine is reported and the docker tests skip with that
reason; with CI=true it is a failure.
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PIDFILE = Path("/var/run/docker.pid")
LOG = Path("/var/log/dockerd-framework-sdk.log")
WAIT_SECONDS = 90
MPI_REQUIREMENTS = (Path(__file__).resolve().parents[1] / "src" / "framework_sdk" / "images" / "chainer"
                    / "requirements-mpi.txt")
APT_PACKAGES = [
    "docker.io",        # the engine for the docker backend and the images
    "debootstrap",      # a local base image where no registry is reachable
    "openmpi-bin",      # mpirun for the MPI runner
    "libopenmpi-dev",   # mpicc, to build mpi4py against Open MPI
    "openssh-client",   # mpirun's launcher between hosts
    "wrk",              # the serving benchmark's load generator
    "docker-compose",   # the SageMaker Python SDK v2's local mode (contract test, local-mode benchmark)
    "chromium",         # headless browser: the typed mode's /docs page renders offline
    "docker-registry",  # the Docker registry v2 API on a loopback port: `images push` tests push to it
    "apache2-utils",    # htpasswd: that registry's basic auth, with the credentials of an ECR token
]


def engine_answers():
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def apt_install(*packages):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def start_dockerd():
    if PIDFILE.exists():
        text = PIDFILE.read_text().strip()
        if not (text.isdigit() and pid_alive(int(text))):
            print(f"setup: removing stale {PIDFILE}", flush=True)
            PIDFILE.unlink()
    log = open(LOG, "ab")
    subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + WAIT_SECONDS
    delay = 0.2
    while time.monotonic() < deadline:
        if engine_answers():
            return True
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)
    return False


def missing_apt_packages():
    query = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Status}\\n", *APT_PACKAGES],
                           capture_output=True, text=True)
    installed = {line.split()[0] for line in query.stdout.splitlines() if line.endswith("install ok installed")}
    return [name for name in APT_PACKAGES if name not in installed]


def ensure_apt_packages():
    missing = missing_apt_packages() if shutil.which("dpkg-query") else []
    if not missing:
        return
    if os.geteuid() != 0:
        print(f"setup: missing Debian packages {' '.join(missing)} (not root, not installing)", flush=True)
        return
    print(f"setup: installing Debian packages {' '.join(missing)}", flush=True)
    apt_install(*missing)


def ensure_mpi4py():
    probe = "import mpi4py.MPI as m; print(m.Get_library_version())"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    if found.returncode == 0 and "Open MPI" in found.stdout:
        return
    if not shutil.which("mpicc"):
        print("setup: no mpicc (Open MPI), not building mpi4py", flush=True)
        return
    print("setup: building mpi4py against Open MPI", flush=True)
    # The chainer image's pin, so pip's wheel cache serves the process backend's build too.
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-binary", "mpi4py", "-r",
                    str(MPI_REQUIREMENTS)], check=True)


def main():
    ensure_apt_packages()
    ensure_mpi4py()
    return ensure_docker()


def ensure_docker():
    if engine_answers():
        print("setup: a Docker engine answers", flush=True)
        return 0
    if os.environ.get("DOCKER_HOST"):
        return fail(f"DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer `docker info`")
    if os.geteuid() != 0:
        return fail("no Docker engine answers and we are not root, so we cannot install or start one")
    if not shutil.which("dockerd"):
        print("setup: installing Debian's docker.io", flush=True)
        apt_install("docker.io")
    print("setup: starting dockerd", flush=True)
    if not start_dockerd():
        tail = LOG.read_text(errors="replace")[-2000:] if LOG.exists() else ""
        return fail(f"dockerd did not answer within {WAIT_SECONDS}s; its log ends with:\n{tail}")
    print("setup: dockerd answers", flush=True)
    return 0


def fail(reason):
    if os.environ.get("CI", "").lower() == "true":
        print(f"setup: FAILED under CI=true: {reason}", file=sys.stderr, flush=True)
        return 1
    print(f"setup: {reason}; tests marked docker will be skipped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
