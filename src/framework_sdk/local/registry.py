"""Local endpoints found by name from other processes: one small JSON file per running endpoint.

A local endpoint that is ``InService`` writes ``<state dir>/endpoints/<name>.json`` with its
URLs and the id of the process that runs it, and removes it when it stops or that process
exits. The state dir is ``$XDG_STATE_HOME/framework-sdk`` (default ``~/.local/state/framework-sdk``).
``framework-sdk predict --endpoint NAME`` reads it. An entry whose process is gone (killed
before it could clean up) is stale: :func:`lookup` and :func:`running` delete it.
"""
import atexit
import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger("framework_sdk.local")
_written: set[Path] = set()


def endpoints_dir():
    """Where the entries live: ``$XDG_STATE_HOME/framework-sdk/endpoints``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "framework-sdk" / "endpoints"


def register(name, urls, **details):
    """Record endpoint ``name`` as served at ``urls`` by this process; a failure to write only warns."""
    path = endpoints_dir() / f"{name}.json"
    entry = {"name": name, "urls": list(urls), "pid": os.getpid(), "started": time.time(), **details}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entry))
        os.replace(temporary, path)  # readers never see half a file
    except OSError as error:
        log.warning("endpoint %s runs, but other processes cannot find it by name: %s", name, error)
        return
    _written.add(path)


def unregister(name):
    """Remove the entry of ``name`` if this process wrote it (another process may reuse the name)."""
    path = endpoints_dir() / f"{name}.json"
    _written.discard(path)
    entry = _read(path)
    if entry is not None and entry.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def lookup(name):
    """The entry (``name``, ``urls``, ``pid``, ...) of a running local endpoint, or None."""
    path = endpoints_dir() / f"{name}.json"
    entry = _read(path)
    if entry is None:
        return None
    if not _alive(entry.get("pid")):
        path.unlink(missing_ok=True)
        return None
    return entry


def running():
    """Every live entry, oldest first."""
    folder = endpoints_dir()
    names = sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []
    entries = [entry for entry in map(lookup, names) if entry is not None]
    return sorted(entries, key=lambda entry: entry.get("started", 0))


def _read(path):
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and entry.get("urls") else None


def _alive(pid):
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


@atexit.register
def _remove_written():
    for path in list(_written):
        unregister(path.stem)
