"""The server's state in SQLite under ``--state-dir``: resources, log events, S3 objects' index.

One server per state dir: :func:`lock_state_dir` takes an exclusive lock (released when the process
ends, however it ends) and a second server on the same dir fails with a message naming the first.
Descriptions are kept in their JSON wire form (timestamps as epoch seconds), as they are answered.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from framework_sdk.exceptions import ConfigurationError

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL, name TEXT NOT NULL, created REAL NOT NULL, description TEXT NOT NULL,
    PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS log_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, log_group TEXT NOT NULL, stream TEXT NOT NULL,
    timestamp INTEGER NOT NULL, ingested INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS log_events_stream ON log_events (log_group, stream, id);
CREATE TABLE IF NOT EXISTS log_streams (
    log_group TEXT NOT NULL, stream TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (log_group, stream));
CREATE TABLE IF NOT EXISTS s3_buckets (account TEXT NOT NULL, name TEXT PRIMARY KEY, region TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS s3_objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL, metadata TEXT NOT NULL, blob TEXT NOT NULL,
    PRIMARY KEY (bucket, key));
"""


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/framework-sdk/api`` (``~/.local/state/framework-sdk/api``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "framework-sdk" / "api"


def lock_state_dir(state_dir: Path) -> FileLock:
    """Hold ``state_dir`` for this process; a clear error when another server holds it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state_dir / "server.lock"))
    owner = state_dir / "server.pid"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        pid = owner.read_text().strip() if owner.is_file() else "unknown"
        raise ConfigurationError(
            f"state dir {state_dir} is in use by another framework-sdk api server (process {pid}); stop "
            f"that server, or give this one its own --state-dir") from None
    owner.write_text(str(os.getpid()))
    return lock


class Store:
    """Thread-safe access to the server's SQLite database (one connection, one lock, WAL)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ resources
    def put(self, kind: str, name: str, description: dict[str, Any]) -> None:
        created = description.get("CreationTime") or time.time()
        self.execute("INSERT INTO resources VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET "
                     "description = excluded.description", (kind, name, created, json.dumps(description)))

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        rows = self.execute("SELECT description FROM resources WHERE kind = ? AND name = ?", (kind, name))
        return json.loads(rows[0][0]) if rows else None

    def delete(self, kind: str, name: str) -> None:
        self.execute("DELETE FROM resources WHERE kind = ? AND name = ?", (kind, name))

    def all(self, kind: str) -> Iterator[dict[str, Any]]:
        for (description,) in self.execute("SELECT description FROM resources WHERE kind = ? ORDER BY created",
                                           (kind,)):
            yield json.loads(description)

    # ------------------------------------------------------------------ log events
    def add_stream(self, group: str, stream: str) -> None:
        self.execute("INSERT OR IGNORE INTO log_streams VALUES (?, ?, ?)", (group, stream, _now_ms()))

    def add_events(self, group: str, stream: str, messages: list[str]) -> None:
        now = _now_ms()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO log_events (log_group, stream, timestamp, ingested, message) "
                                 "VALUES (?, ?, ?, ?, ?)", [(group, stream, now, now, m) for m in messages])
            self._db.execute("COMMIT")


def _now_ms() -> int:
    return int(time.time() * 1000)
