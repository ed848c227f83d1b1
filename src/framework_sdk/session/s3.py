"""S3 for a :class:`~framework_sdk.session.Session`: ``s3://`` URIs, the default bucket made when missing, and
transfers in parallel (multipart for large files) through boto3's transfer manager, with a progress line."""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from framework_sdk.exceptions import AWSError, ConfigurationError

if TYPE_CHECKING:
    from s3transfer.manager import TransferManager

    from framework_sdk.session import Session


LOGGER = logging.getLogger(__name__)

_MB = 1024 * 1024


class _Progress:
    """A one-line byte counter on a terminal (stderr); silent when stderr is not a terminal."""

    def __init__(self, total: int, label: str, enabled: bool | None = None) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._last = 0.0

    def __call__(self, nbytes: int) -> None:
        with self._lock:
            self.done += nbytes
            now = time.monotonic()
            if self.enabled and (now - self._last > 0.2 or self.done >= self.total):
                self._last = now
                percent = 100.0 * self.done / self.total if self.total else 100.0
                sys.stderr.write(f"\r{self.label}: {self.done / _MB:8.1f} / {self.total / _MB:.1f} MB "
                                 f"{percent:5.1f}%")
                sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def parse_s3_uri(uri: str | None) -> tuple[str, str]:
    """``s3://bucket/key/prefix`` -> ``('bucket', 'key/prefix')``."""
    if not isinstance(uri, str) or not uri.startswith("s3://") or len(uri) <= 5:
        raise ConfigurationError(f"{uri!r} is not an S3 URI; expected s3://bucket/key")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def s3_uri(bucket: str, *parts: str | None) -> str:
    """``s3://bucket/part/part`` with no doubled or trailing slashes."""
    key = "/".join(part.strip("/") for part in parts if part and part.strip("/"))
    return f"s3://{bucket}/{key}" if key else f"s3://{bucket}"


def ensure_bucket(session: Session, name: str) -> None:
    """Create bucket ``name`` in the session's region unless it exists; an error naming the fix when it is
    someone else's."""
    s3 = session.s3_client
    try:
        s3.head_bucket(Bucket=name)
        return
    except AWSError as error:
        if error.code not in ("404", "NoSuchBucket", "NotFound"):
            if error.code in ("403", "AccessDenied"):
                raise ConfigurationError(
                    f"S3 bucket {name!r} exists but this account cannot use it (it belongs to someone "
                    f"else, or the credentials lack s3:ListBucket); pass Session(default_bucket=...) "
                    f"with a bucket you own") from error
            raise
    region = session.boto_region_name
    request: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**request)
        LOGGER.info("created S3 bucket %s", name)
    except AWSError as error:
        if error.code not in ("BucketAlreadyOwnedByYou", "OperationAborted"):
            raise


def transfer_manager(session: Session, max_concurrency: int = 10) -> TransferManager:
    from boto3.s3.transfer import TransferConfig, create_transfer_manager

    config = TransferConfig(multipart_threshold=8 * _MB, multipart_chunksize=8 * _MB,
                            max_concurrency=max_concurrency, use_threads=True)
    return create_transfer_manager(session.s3_client, config)


def upload_data(session: Session, path: str, bucket: str | None = None, key_prefix: str = "data",
                callback: Callable[[int], object] | None = None, extra_args: dict[str, Any] | None = None) -> str:
    """See :meth:`Session.upload_data <framework_sdk.session.Session.upload_data>`."""
    from s3transfer.subscribers import BaseSubscriber

    if not os.path.exists(path):
        raise ConfigurationError(f"cannot upload {path!r}: no such file or folder")
    bucket = bucket or session.default_bucket()
    key_prefix = (key_prefix or "").strip("/")
    if os.path.isdir(path):
        files: list[tuple[str, str]] = []
        for folder, dirs, names in os.walk(path):
            dirs.sort()
            for name in sorted(names):
                local = os.path.join(folder, name)
                relative = os.path.relpath(local, path).replace(os.sep, "/")
                files.append((local, f"{key_prefix}/{relative}" if key_prefix else relative))
        result = s3_uri(bucket, key_prefix)
    else:
        name = os.path.basename(path)
        files = [(path, f"{key_prefix}/{name}" if key_prefix else name)]
        result = s3_uri(bucket, files[0][1])
    progress = _Progress(sum(os.path.getsize(local) for local, _ in files), f"upload {result}")

    class _Count(BaseSubscriber):
        def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
            progress(bytes_transferred)
            if callback is not None:
                callback(bytes_transferred)

    with transfer_manager(session) as manager:
        futures = [manager.upload(local, bucket, key, extra_args=extra_args, subscribers=[_Count()])
                   for local, key in files]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        finally:
            progress.close()
    return result


def upload_if_changed(session: Session, local_path: str, uri: str, sha256: str) -> bool:
    """See :meth:`Session.upload_if_changed <framework_sdk.session.Session.upload_if_changed>`."""
    bucket, key = parse_s3_uri(uri)
    try:
        head = session.s3_client.head_object(Bucket=bucket, Key=key)
        if head.get("Metadata", {}).get("sha256") == sha256:
            LOGGER.info("%s is unchanged; not uploading it again", uri)
            return False
    except AWSError as error:
        if error.code not in ("404", "NoSuchKey", "NotFound"):
            raise
    with transfer_manager(session) as manager:
        manager.upload(local_path, bucket, key, extra_args={"Metadata": {"sha256": sha256}}).result()
    return True


def download_data(session: Session, path: str, bucket: str, key_prefix: str = "",
                  extra_args: dict[str, Any] | None = None) -> list[str]:
    """See :meth:`Session.download_data <framework_sdk.session.Session.download_data>`."""
    root = os.path.abspath(path)
    keys: list[str] = []
    paginator = session.s3_client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=key_prefix):
        keys.extend(item["Key"] for item in page.get("Contents", ()) if not item["Key"].endswith("/"))
    if not keys:
        raise ConfigurationError(f"nothing to download: no objects under {s3_uri(bucket, key_prefix)}")
    targets = []
    for key in keys:
        if key == key_prefix:  # the prefix names one object: keep its file name
            relative = key.rsplit("/", 1)[-1]
        else:
            relative = key[len(key_prefix):].lstrip("/")
        target = os.path.abspath(os.path.join(root, relative))
        if os.path.commonpath([root, target]) != root:
            raise ConfigurationError(f"refusing to download {key!r}: it would be written outside {root}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        targets.append((key, target))
    with transfer_manager(session) as manager:
        futures = [manager.download(bucket, key, target, extra_args=extra_args) for key, target in targets]
        for future in futures:
            future.result()
    return [target for _, target in targets]
