"""Run the user's entry point: one process, or MPI ranks across the job's hosts.

- :func:`run_process` runs one command, streams its output line by line as it is produced,
  forwards SIGTERM/SIGINT, and keeps the last lines of stderr for the failure report.
- :func:`run_mpi_master` runs ``mpirun`` on the master host; :func:`run_mpi_worker` keeps a worker
  host alive (sshd) until the master reports the run's exit status.
- With ``FRAMEWORK_SDK_LOCAL_HOSTS=1`` the hosts share this machine (the local process backend):
  the master launches every host's ranks locally, with no ssh, and writes the exit status into
  each worker's tree (``<base>/../<host>``); workers just wait for it. Each rank still writes
  into the tree of the host it stands for: its ``SM_*`` paths (and ``SAGEMAKER_BASE_DIR``) under
  the master's tree are moved to that host's, as ``/opt/ml`` on a real host is its own; every
  other value stays the master's, as ``mpirun -x`` gives it to every rank on SageMaker.

``python -m framework_sdk.container.runners tag-rank [--base-dir DIR] [--hosts h1,h2 --slots N] -- cmd ...``
is the per-rank wrapper that prefixes every output line with ``[<host> rank <n>]`` (and, given the
master's tree ``--base-dir``, moves the rank's paths into its host's tree).
"""
import collections
import json
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from framework_sdk.container.environment import BASE_DIR_ENV, env_value
from framework_sdk.container.errors import ToolkitError

logger = logging.getLogger("framework_sdk.container")

LOCAL_HOSTS_ENV = "FRAMEWORK_SDK_LOCAL_HOSTS"
SSHD_TIMEOUT_ENV = "FRAMEWORK_SDK_SSHD_TIMEOUT"
WORKER_TIMEOUT_ENV = "FRAMEWORK_SDK_MPI_WORKER_TIMEOUT"
DEFAULT_SSHD_TIMEOUT = 300.0
DEFAULT_WORKER_TIMEOUT = 86400.0  # SageMaker's default MaxRuntimeInSeconds
STATUS_FILE = Path(".framework-sdk") / "mpi-master-exit-status"
SSH_OPTIONS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
# Beside every SM_* variable, what ranks on other hosts need (sshd starts them with a bare
# environment): paths, and the AWS credentials, region and endpoints the script may use.
# Paths into a host's tree besides SM_*: the tree itself, and the checkpoint folder local mode names.
TREE_PATH_NAMES = (BASE_DIR_ENV, "FRAMEWORK_SDK_CHECKPOINT_DIR")
EXPORTED_NAMES = ("PATH", "PYTHONPATH", "LD_LIBRARY_PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE",
                  "TRAINING_JOB_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
                  "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                  "S3_ENDPOINT_URL")


class MPIError(ToolkitError, RuntimeError):
    """The MPI set-up failed (a worker never answered, no sshd, no status from the master)."""


@dataclass
class ProcessResult:
    """How a command ended: its exit code (128+N when killed by signal N) and the last stderr lines."""

    returncode: int
    stderr_tail: list = field(default_factory=list)


# ---------------------------------------------------------------- one process


def run_process(command, env=None, cwd=None, tail_lines=50, prefix=b"", forward_signals=True):
    """Run ``command`` (an argv list, no shell), streaming stdout/stderr line by line to ours.

    With ``forward_signals`` the command runs in a process group of its own, and SIGTERM/SIGINT sent
    to us go to that whole group (the script, its workers, ``mpirun`` and its ranks) once: a stopped
    job's script can save a last checkpoint in the grace period before the SIGKILL.
    """
    forward_signals = forward_signals and threading.current_thread() is threading.main_thread()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=os.setpgrp if forward_signals else None)
    tail = collections.deque(maxlen=tail_lines)
    pumps = [threading.Thread(target=_pump, args=(process.stdout, _binary(sys.stdout), prefix, None), daemon=True),
             threading.Thread(target=_pump, args=(process.stderr, _binary(sys.stderr), prefix, tail), daemon=True)]
    for pump in pumps:
        pump.start()
    with _forwarding_signals(process, forward_signals):
        returncode = process.wait()
    for pump in pumps:
        pump.join()
    return ProcessResult(128 - returncode if returncode < 0 else returncode, list(tail))


def _pump(source, sink, prefix, tail):
    for line in iter(source.readline, b""):
        sink.write(prefix + line)
        sink.flush()
        if tail is not None:
            tail.append(line.decode("utf-8", "replace").rstrip("\n"))
    source.close()


def _binary(stream):
    return getattr(stream, "buffer", stream)


class _forwarding_signals:
    """Context: while the child runs, SIGTERM/SIGINT sent to us go to its process group (main thread only)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, process, enabled):
        self.process = process
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.previous = {}

    def __enter__(self):
        if self.enabled:
            for number in self.SIGNALS:
                self.previous[number] = signal.signal(number, self._forward)
        return self

    def _forward(self, number, _frame):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, number)
            except (ProcessLookupError, PermissionError):
                self.process.send_signal(number)

    def __exit__(self, *_):
        for number, handler in self.previous.items():
            signal.signal(number, handler)


# ---------------------------------------------------------------- MPI


def local_hosts():
    """True when ``FRAMEWORK_SDK_LOCAL_HOSTS=1``: every host of the job runs on this machine."""
    return os.environ.get(LOCAL_HOSTS_ENV) == "1"


def mpirun_command(environment, command, env_names, local=False, python=sys.executable):
    """The ``mpirun`` argv running ``command`` as ``environment.num_processes`` ranks, each output line tagged."""
    slots = environment.process_slots_per_host
    hosts = environment.hosts
    mpirun = ["mpirun", "-np", str(environment.num_processes)]
    if os.geteuid() == 0:
        mpirun.append("--allow-run-as-root")
    if local or len(hosts) == 1:
        mpirun += ["--oversubscribe"]
    else:
        interface = environment.network_interface_name
        mpirun += ["--host", ",".join(f"{host}:{slots}" for host in hosts),
                   "--mca", "plm_rsh_no_tree_spawn", "1", "--mca", "plm_rsh_args", SSH_OPTIONS,
                   "--mca", "btl_tcp_if_include", interface, "--mca", "oob_tcp_if_include", interface,
                   "-x", f"NCCL_SOCKET_IFNAME={interface}"]
    mpirun += ["--mca", "btl_vader_single_copy_mechanism", "none"]
    for name in sorted(env_names):
        mpirun += ["-x", name]
    mpirun += shlex.split(environment.additional_mpi_options)
    tag = [python, "-m", "framework_sdk.container.runners", "tag-rank"]
    if local and len(hosts) > 1:  # each rank writes into the tree of the host it stands for
        tag += ["--base-dir", str(environment.base_dir)]
    if local or len(hosts) == 1:
        tag += ["--hosts", ",".join(hosts), "--slots", str(slots)]
    return mpirun + [*tag, "--", *command]


def exported_names(env):
    """The variables of ``env`` every rank receives: all ``SM_*`` plus :data:`EXPORTED_NAMES`."""
    return [name for name in env if name.startswith("SM_") or name in EXPORTED_NAMES]


def run_mpi_master(environment, command, env, cwd, local=False):
    """On the master: wait for the workers' sshd (unless ``local``), run ``mpirun``, tell workers how it ended."""
    workers = [host for host in environment.hosts if host != environment.current_host]
    if workers and not local:
        wait_for_sshd(workers, timeout=float(os.environ.get(SSHD_TIMEOUT_ENV, DEFAULT_SSHD_TIMEOUT)))
    mpirun = mpirun_command(environment, command, exported_names(env), local=local)
    logger.info("running MPI: %s", shlex.join(mpirun))
    try:
        result = run_process(mpirun, env=env, cwd=cwd)
    except FileNotFoundError:
        result = ProcessResult(127, ["mpirun not found: install Open MPI (Debian: openmpi-bin) in the image"])
    for host in workers:
        _notify_worker(environment, host, result.returncode, local)
    return result


def _notify_worker(environment, host, status, local):
    """Write the run's exit status into ``host``'s tree: directly when it shares this machine, else over ssh."""
    try:
        if local:
            path = environment.base_dir.parent / host / STATUS_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, str(status))
        else:
            remote = shlex.quote(str(environment.base_dir / STATUS_FILE))
            script = f"mkdir -p \"$(dirname {remote})\" && echo {int(status)} > {remote}.tmp && mv {remote}.tmp {remote}"
            subprocess.run(["ssh", *shlex.split(SSH_OPTIONS), host, script], check=True, timeout=60,
                           stdin=subprocess.DEVNULL, capture_output=True)
    except (OSError, subprocess.SubprocessError) as error:
        logger.warning("could not tell worker %s that the MPI run ended (%s); it will wait until its timeout",
                       host, error)


def _write_atomically(path, text):
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def wait_for_sshd(hosts, port=22, timeout=DEFAULT_SSHD_TIMEOUT):
    """Wait until every host accepts TCP connections on ``port``; raise naming the hosts that never did."""
    deadline = time.monotonic() + timeout
    pending = list(hosts)
    delay = 0.1
    while pending:
        pending = [host for host in pending if not _accepts(host, port)]
        if not pending:
            break
        if time.monotonic() >= deadline:
            raise MPIError(
                f"sshd on worker host(s) {', '.join(pending)} did not accept connections on port {port} "
                f"within {timeout:g}s; check that the image starts sshd on workers and that the hosts can "
                f"reach each other (raise {SSHD_TIMEOUT_ENV} for slow starts)")
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 2.0)
    logger.info("sshd answers on %s", ", ".join(hosts))


def _accepts(host, port):
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def start_sshd():
    """Start ``sshd -D`` for the master's ``mpirun`` to reach this worker; returns the process."""
    sshd = "/usr/sbin/sshd"
    if not os.path.exists(sshd):
        raise MPIError(
            f"MPI across hosts needs sshd on every worker, and {sshd} does not exist; install openssh-server "
            f"in the image, or set {LOCAL_HOSTS_ENV}=1 when all hosts run on one machine")
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sshd, "-D", "-e"], stdin=subprocess.DEVNULL)


def run_mpi_worker(environment, local=False, timeout=None):
    """On a worker: (start sshd unless ``local``), wait for the master's exit status, and return it."""
    timeout = float(timeout or os.environ.get(WORKER_TIMEOUT_ENV, DEFAULT_WORKER_TIMEOUT))
    sshd = None if local else start_sshd()
    status_file = environment.base_dir / STATUS_FILE
    logger.info("worker %s waiting for the master %s's MPI run to end", environment.current_host,
                environment.master_host)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while not status_file.exists():
            if time.monotonic() >= deadline:
                raise MPIError(
                    f"MPI worker {environment.current_host}: the master {environment.master_host} did not report "
                    f"the end of its run within {timeout:g}s ({WORKER_TIMEOUT_ENV}); see the master's logs")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        return int(status_file.read_text().strip() or 1)
    finally:
        if sshd is not None:
            sshd.terminate()
            try:
                sshd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sshd.kill()


# ---------------------------------------------------------------- per-rank wrapper


def rank_host(hosts, slots, environ=None):
    """The logical host of this rank when all hosts share this machine: ranks fill ``slots`` per host, in order."""
    environ = os.environ if environ is None else environ
    rank = int(environ.get("OMPI_COMM_WORLD_RANK", environ.get("PMIX_RANK", "0")))
    return hosts[min(rank // slots, len(hosts) - 1)]


def rank_label(hosts=None, slots=None, environ=None):
    """``"algo-2 rank 3"``: the rank from Open MPI's environment; the host is the logical one when
    ``hosts``/``slots`` say all hosts share this machine, else this machine's name."""
    environ = os.environ if environ is None else environ
    rank = int(environ.get("OMPI_COMM_WORLD_RANK", environ.get("PMIX_RANK", "0")))
    host = rank_host(hosts, slots, environ) if hosts and slots else socket.gethostname()
    return f"{host} rank {rank}"


def host_tree_environment(environ, master_tree, host_tree):
    """``environ`` for a rank standing for the host whose tree is ``host_tree``, the master's being ``master_tree``.

    Every ``SM_*`` value (JSON ones included) and ``SAGEMAKER_BASE_DIR`` naming a path under the
    master's tree names the same path under the host's; nothing else changes.
    """
    source, target = str(master_tree).rstrip("/"), str(host_tree).rstrip("/")

    def moved(value):
        if isinstance(value, str) and (value == source or value.startswith(source + "/")):
            return target + value[len(source):]
        if isinstance(value, list):
            return [moved(item) for item in value]
        if isinstance(value, dict):
            return {key: moved(item) for key, item in value.items()}
        return value

    def moved_text(text):  # JSON values (SM_TRAINING_ENV, ...) keep their encoding, with paths moved
        if not text.startswith(("{", "[")):
            return moved(text)
        try:
            decoded = json.loads(text)
        except ValueError:
            return text
        rebased = moved(decoded)
        return text if rebased == decoded else env_value(rebased)

    return {name: moved_text(value) if name in TREE_PATH_NAMES or name.startswith("SM_") else value
            for name, value in environ.items()}


def _tag_rank_main(argv):
    hosts, slots, base_dir = None, None, None
    while argv and argv[0] != "--":
        option, value, argv = argv[0], argv[1], argv[2:]
        if option == "--hosts":
            hosts = value.split(",")
        elif option == "--slots":
            slots = int(value)
        elif option == "--base-dir":
            base_dir = Path(value)
    command = argv[1:]
    prefix = f"[{rank_label(hosts, slots)}] ".encode()
    env = None
    if base_dir is not None and hosts and slots:
        env = host_tree_environment(os.environ, base_dir, base_dir.parent / rank_host(hosts, slots))
    return run_process(command, env=env, prefix=prefix).returncode


if __name__ == "__main__":
    if sys.argv[1:2] != ["tag-rank"]:
        sys.exit("usage: python -m framework_sdk.container.runners tag-rank [--base-dir DIR] "
                 "[--hosts h1,h2 --slots N] -- cmd ...")
    sys.exit(_tag_rank_main(sys.argv[2:]))
