"""Reading and writing ``file://`` and ``s3://`` locations for local jobs.

``file://`` needs nothing. ``s3://`` uses boto3 (imported on first use) with the
endpoint from ``AWS_ENDPOINT_URL_S3`` / ``S3_ENDPOINT_URL`` when set, so a local
S3-compatible server works as well as AWS.
"""
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from framework_sdk.local.errors import LocalModeError


def is_file_uri(uri):
    return isinstance(uri, str) and uri.startswith("file://")


def local_path(uri):
    """``file:///a/b`` -> ``Path('/a/b')``; a plain path is returned as a Path."""
    if is_file_uri(uri):
        parsed = urlparse(uri)
        return Path(unquote(parsed.netloc + parsed.path))
    return Path(uri)


def split_s3(uri):
    """``s3://bucket/key`` -> ``('bucket', 'key')``."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise LocalModeError(f"{uri!r} is not an s3://bucket/key location")
    return parsed.netloc, parsed.path.lstrip("/")


def join(uri, *parts):
    return "/".join([uri.rstrip("/"), *[p.strip("/") for p in parts]])


class Storage:
    """``file://`` and ``s3://`` transfers; the S3 client is made on first ``s3://`` use."""

    def __init__(self, s3_client_factory=None):
        self._factory = s3_client_factory
        self._s3 = None

    @property
    def s3(self):
        if self._s3 is None:
            if self._factory is not None:
                self._s3 = self._factory()
            else:
                import boto3

                endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("S3_ENDPOINT_URL")
                self._s3 = boto3.client("s3", endpoint_url=endpoint)
        return self._s3

    def _check_scheme(self, uri):
        if not (is_file_uri(uri) or str(uri).startswith("s3://")):
            raise LocalModeError(f"{uri!r}: local mode reads and writes file:// or s3:// locations only")

    def fetch(self, uri, destination, select=None):
        """Make ``uri`` (a file or folder, local or S3) available under ``destination``; returns the path.

        A ``file://`` location is not copied: its own path is returned. ``select`` (given the sorted
        S3 keys, returns those to download) fetches only some of an ``s3://`` prefix's objects.
        """
        self._check_scheme(uri)
        if is_file_uri(uri):
            path = local_path(uri)
            if not path.exists():
                raise LocalModeError(f"{uri} does not exist on this machine; check the path")
            return path
        bucket, prefix = split_s3(uri)
        destination = Path(destination)
        destination.mkdir(parents=True, exist_ok=True)
        keys = self.list_keys(bucket, prefix)
        if not keys:
            raise LocalModeError(f"{uri} matches no S3 object; check the bucket and prefix")
        for key in (keys if select is None else select(sorted(keys))):
            relative = key[len(prefix):].lstrip("/") if key != prefix else os.path.basename(key)
            target = destination / (relative or os.path.basename(key))
            target.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(bucket, key, str(target))
        return destination

    def list_keys(self, bucket, prefix):
        keys = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/")]
        return keys

    def list_files(self, uri, scratch):
        """The files at ``uri`` (one file, or every file under a folder/prefix) as ``(relative name, local path)``."""
        root = self.fetch(uri, scratch)
        if root.is_file():
            return [(root.name, root)]
        return sorted((str(p.relative_to(root)), p) for p in root.rglob("*") if p.is_file())

    def put(self, path, uri):
        """Write the local file ``path`` to ``uri`` (a full file or object location)."""
        self._check_scheme(uri)
        if is_file_uri(uri):
            target = local_path(uri)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        else:
            bucket, key = split_s3(uri)
            self.s3.upload_file(str(path), bucket, key)
        return uri
