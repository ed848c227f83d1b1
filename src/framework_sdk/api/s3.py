"""S3 (and STS, IAM) from moto's backends, in process, with S3 objects kept under the state dir.

moto is the well-kept open implementation of these APIs, used in botocore's own ecosystem for
exactly this (its server mode is the same WSGI app): listing, multipart uploads, ranges, errors
and XML shapes come from it. moto keeps objects in memory only; :class:`S3Persistence` writes each
bucket and object to the state dir after every request that changed S3 and puts them back at start.
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from framework_sdk.api.store import Store

PARTITION = "aws"


def moto_app() -> Any:
    """moto's WSGI app: it picks the backend (s3, sts, iam, ...) from each request's signature."""
    from moto.server import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def _backends() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends


class S3Persistence:
    """Objects and buckets of moto's S3 mirrored to ``blobs`` (files) and the store's index."""

    def __init__(self, store: Store, blobs: Path) -> None:
        self.store = store
        self.blobs = blobs
        self.blobs.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _live(self) -> dict[tuple[str, str], Any]:
        """Every (bucket, key) -> latest FakeKey, and the buckets, of every account moto has seen."""
        from moto.s3.models import FakeKey

        objects = {}
        for _account, partitions in list(_backends().items()):
            backend = partitions.get(PARTITION) if hasattr(partitions, "get") else None
            if backend is None:
                continue
            for bucket in list(backend.buckets.values()):
                for name, key in list(bucket.keys.items()):
                    if isinstance(key, FakeKey):  # not a delete marker of a versioned bucket
                        objects[(bucket.name, name)] = key
        return objects

    def _buckets(self) -> dict[str, tuple[str, str]]:
        buckets = {}
        for account, partitions in list(_backends().items()):
            backend = partitions.get(PARTITION) if hasattr(partitions, "get") else None
            if backend is not None:
                for bucket in list(backend.buckets.values()):
                    buckets[bucket.name] = (account, bucket.region_name)
        return buckets

    def sync(self) -> None:
        """Write what changed in moto's S3 since the last sync; forget what was deleted."""
        with self._lock:
            buckets = self._buckets()
            stored_buckets = {name for (name,) in self.store.execute("SELECT name FROM s3_buckets")}
            for name, (account, region) in buckets.items():
                if name not in stored_buckets:
                    self.store.execute("INSERT INTO s3_buckets VALUES (?, ?, ?)", (account, name, region))
            for name in stored_buckets - set(buckets):
                self.store.execute("DELETE FROM s3_buckets WHERE name = ?", (name,))
            stored = {(bucket, key): (etag, blob) for bucket, key, etag, blob in
                      self.store.execute("SELECT bucket, key, etag, blob FROM s3_objects")}
            live = self._live()
            for (bucket, name), key in live.items():
                if stored.get((bucket, name), ("",))[0] == key.etag:
                    continue
                blob = hashlib.sha256(f"{bucket}/{name}".encode()).hexdigest()
                temporary = self.blobs / f".{blob}.tmp"
                temporary.write_bytes(key.value)
                temporary.replace(self.blobs / blob)
                metadata = dict(key.metadata)  # Content-Type and the user's x-amz-meta-*
                self.store.execute("INSERT INTO s3_objects VALUES (?, ?, ?, ?, ?) ON CONFLICT (bucket, key) DO "
                                   "UPDATE SET etag = excluded.etag, metadata = excluded.metadata",
                                   (bucket, name, key.etag, json.dumps(metadata), blob))
            for (bucket, name), (_, blob) in stored.items():
                if (bucket, name) not in live:
                    self.store.execute("DELETE FROM s3_objects WHERE bucket = ? AND key = ?", (bucket, name))
                    (self.blobs / blob).unlink(missing_ok=True)

    def restore(self) -> int:
        """Put the kept buckets and objects back into moto's S3; returns how many objects."""
        backends = _backends()
        for account, name, region in self.store.execute("SELECT account, name, region FROM s3_buckets"):
            backends[account][PARTITION].create_bucket(name, region)
        count = 0
        for bucket, name, metadata, blob in self.store.execute(
                "SELECT o.bucket, o.key, o.metadata, o.blob FROM s3_objects o JOIN s3_buckets b ON b.name = o.bucket"):
            account = self.store.execute("SELECT account FROM s3_buckets WHERE name = ?", (bucket,))[0][0]
            path = self.blobs / blob
            if not path.is_file():
                continue
            key = backends[account][PARTITION].put_object(bucket, name, path.read_bytes())
            key.set_metadata(json.loads(metadata), replace=True)
            count += 1
        return count
