"""What a local-mode Python killed with SIGKILL left behind, found and removed by the next session.

No handler runs on SIGKILL, so every Python that runs local jobs or endpoints keeps a ledger,
``$XDG_STATE_HOME/framework-sdk/owners/<pid>.json``: its own identity (pid and start time, so a
reused pid is not mistaken for it), the temporary trees it made and the process sessions of its
process-backend hosts. Its docker containers and networks carry the label ``framework-sdk.owner``
with the same identity. :func:`remove_orphans` (run by every new ``LocalSession`` and by
``framework-sdk local cleanup``) removes what belongs to owners that are gone, and says what; what a
live Python runs (an endpoint it deliberately left up) is never touched.
"""
import json
import logging
import os
import shutil
import signal
import threading
from pathlib import Path

log = logging.getLogger("framework_sdk.local")
OWNER_LABEL = "framework-sdk.owner"
_lock = threading.Lock()
_ledger: "dict[str, list]" = {"roots": [], "processes": []}


def owners_dir():
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "framework-sdk" / "owners"


def start_time(pid):
    """The start time of process ``pid`` (clock ticks since boot, from /proc), ``"?"`` where there is no
    /proc, or ``None`` when no such process runs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except FileNotFoundError:
        if os.path.isdir("/proc"):
            return None
    except (OSError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "?"


def identity(pid=None):
    """``"<pid>:<start time>"`` of this process (or ``pid``)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{start_time(pid)}"


def alive(owner):
    pid, _, started = str(owner).partition(":")
    try:
        now = start_time(int(pid))
    except ValueError:
        return False
    return now is not None and (now == started or "?" in (now, started))


# ------------------------------------------------------------------ this process's ledger
def remember(kind, value):
    """Record a temporary tree (``"roots"``) or a host's process session (``"processes"``) of this process."""
    with _lock:
        _ledger[kind].append(value)
        _write()


def forget(kind, value):
    with _lock:
        if value in _ledger[kind]:
            _ledger[kind].remove(value)
            _write()


def _write():
    path = owners_dir() / f"{os.getpid()}.json"
    try:
        if not any(_ledger.values()):
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"owner": identity(), **_ledger}))
        os.replace(temporary, path)
    except OSError as error:  # the run goes on; only a later cleanup would miss it
        log.warning("could not record local-mode resources in %s: %s", path, error)


# ------------------------------------------------------------------ process sessions
def session_members(session_id):
    """Process ids of the session ``session_id`` (every process a host started, in any process group)."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        try:
            if os.getsid(pid) == session_id:
                members.append(pid)
        except OSError:  # gone meanwhile, or not ours to ask
            continue
    return members


def kill_session(session_id):
    """SIGKILL every process of a host's session (its group, and the user's group the toolkit made)."""
    if not os.path.isdir("/proc"):  # no process table to read (macOS): the host's own group
        try:
            os.killpg(session_id, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return
    for pid in session_members(session_id):  # by session, never by a pid that may have been reused
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass



# ------------------------------------------------------------------ removal
def remove_orphans(docker_client=None):
    """Remove what dead owners left (their trees, process sessions, and with ``docker_client`` their
    containers and networks); returns one line per thing removed."""
    removed = []
    folder = owners_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if alive(entry.get("owner")):
            continue
        for session_id, started in entry.get("processes", []):
            if _kill_session(session_id, started):
                removed.append(f"process session {session_id} of dead local-mode Python {entry['owner']}")
        for root in entry.get("roots", []):
            if Path(root).exists():
                shutil.rmtree(root, ignore_errors=True)
                removed.append(f"temporary tree {root}")
        path.unlink(missing_ok=True)
    if docker_client is not None:
        removed += _remove_docker_orphans(docker_client)
    from framework_sdk.local import registry

    registry.running()  # drops the endpoint entries of dead processes
    for line in removed:
        log.warning("removed what a killed local-mode Python left behind: %s", line)
    return removed


def _kill_session(session_id, started):
    """SIGKILL the processes of a dead owner's host session; True when there were any."""
    leader = start_time(session_id)
    if leader is not None and leader != started:
        return False  # the pid now belongs to another program
    members = session_members(session_id)
    kill_session(session_id)
    return bool(members)


def _remove_docker_orphans(client):
    from docker.errors import APIError

    removed = []
    for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
        if not alive(container.labels.get(OWNER_LABEL)):
            try:
                container.remove(force=True)
                removed.append(f"container {container.name}")
            except APIError as error:
                log.warning("could not remove container %s: %s", container.name, error)
    for network in client.networks.list(filters={"label": OWNER_LABEL}):
        if not alive(network.attrs.get("Labels", {}).get(OWNER_LABEL)):
            try:
                network.remove()
                removed.append(f"network {network.name}")
            except APIError as error:
                log.warning("could not remove network %s: %s", network.name, error)
    return removed
