"""Checkpoints of a local training job: each host's checkpoint folder kept in step with ``CheckpointConfig.S3Uri``.

As on SageMaker, before the script starts what is under the URI is copied into the folder; while
the job runs, new and changed files are copied back every few seconds (so a job killed mid-way
keeps what it had written); when the job ends, one last pass makes the URI hold exactly the
folder's files. The URI may be ``s3://`` or ``file://``.

A job of several hosts keeps each host's files apart under ``<uri>/<host>/`` (``algo-1``,
``algo-2``, ...), so hosts never overwrite one another and each resumes from its own files.

Where a host sees its folder: ``LocalPath`` (default ``/opt/ml/checkpoints``) in a container; with
the process backend the same path under the host's tree (``$SAGEMAKER_BASE_DIR/checkpoints``), a
path outside ``/opt/ml`` mapped to that folder too. Both backends name it in
``FRAMEWORK_SDK_CHECKPOINT_DIR``.
"""
import os
import shutil
import threading
from pathlib import Path, PurePosixPath

from framework_sdk.local.storage import is_file_uri, join, local_path, split_s3

DEFAULT_LOCAL_PATH = "/opt/ml/checkpoints"
CONTAINER_BASE = PurePosixPath("/opt/ml")
ENV = "FRAMEWORK_SDK_CHECKPOINT_DIR"
SYNC_SECONDS = float(os.environ.get("FRAMEWORK_SDK_CHECKPOINT_SYNC_SECONDS", "2"))


def local_path_of(request):
    """The ``CheckpointConfig.LocalPath`` of a ``CreateTrainingJob`` request (its default when unset), or None."""
    config = request.get("CheckpointConfig")
    if not config:
        return None
    return config.get("LocalPath") or DEFAULT_LOCAL_PATH


def relative_folder(container_path):
    """Where in a host's tree the folder lives: ``/opt/ml/x`` -> ``x``; a path elsewhere -> ``checkpoints``."""
    path = PurePosixPath(container_path)
    if path.is_relative_to(CONTAINER_BASE) and path != CONTAINER_BASE:
        return str(path.relative_to(CONTAINER_BASE))
    return "checkpoints"


def host_uri(uri, host, host_count):
    """The URI of one host's checkpoints: the URI itself for one host, ``<uri>/<host>`` for several."""
    return uri if host_count == 1 else join(uri, host)


class CheckpointSync:
    """One host's folder and its URI: :meth:`seed` before the script, :meth:`start` while it runs, :meth:`finish` after."""

    def __init__(self, storage, uri, folder, on_note=None, interval=SYNC_SECONDS):
        self.storage = storage
        self.uri = uri.rstrip("/")
        self.folder = Path(folder)
        self.interval = interval
        self._note = on_note or (lambda line: None)
        self._sent = {}          # relative name -> (mtime_ns, size) of the copy at the URI
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the three steps
    def seed(self):
        """Copy what is under the URI into the folder; returns how many files."""
        self.folder.mkdir(parents=True, exist_ok=True)
        count = 0
        for relative, fetch in self._remote_files():
            target = self.folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            fetch(target)
            self._sent[relative] = _signature(target)
            count += 1
        if count:
            self._note(f"{count} checkpoint file(s) from {self.uri} placed in {self.folder}")
        return count

    def start(self):
        self._thread = threading.Thread(target=self._loop, name=f"checkpoints-{self.folder.parent.name}", daemon=True)
        self._thread.start()
        return self

    def finish(self):
        """Stop the periodic copy and make the URI hold exactly the folder's files."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sync(remove_missing=True)

    # ------------------------------------------------------------------ copying
    def _loop(self):
        while not self._stop.wait(self.interval):
            self.sync()

    def sync(self, remove_missing=False):
        """Copy new and changed files to the URI (and, with ``remove_missing``, delete those the script removed)."""
        with self._lock:
            present = set()
            for path in sorted(self.folder.rglob("*")) if self.folder.is_dir() else ():
                relative = path.relative_to(self.folder).as_posix()
                try:
                    if not path.is_file():
                        continue
                    signature = _signature(path)
                    present.add(relative)
                    if self._sent.get(relative) != signature:
                        self.storage.put(path, join(self.uri, relative))
                        self._sent[relative] = signature
                except FileNotFoundError:  # a temporary file the script renamed or removed meanwhile
                    continue
                except Exception as error:  # keep syncing the rest; the last pass tries again
                    self._note(f"could not copy checkpoint {relative} to {self.uri}: {error}")
            if remove_missing:
                for relative in sorted(set(self._sent) - present):
                    self._delete(relative)
                    del self._sent[relative]

    def _remote_files(self):
        """``(relative name, fetch(target))`` for every file under the URI; none when nothing is there yet."""
        if is_file_uri(self.uri):
            root = local_path(self.uri)
            if not root.is_dir():
                return []
            return [(p.relative_to(root).as_posix(), lambda target, p=p: shutil.copy2(p, target))
                    for p in sorted(root.rglob("*")) if p.is_file()]
        bucket, prefix = split_s3(self.uri + "/")
        return [(key[len(prefix):], lambda target, key=key: self.storage.s3.download_file(bucket, key, str(target)))
                for key in self.storage.list_keys(bucket, prefix)]

    def _delete(self, relative):
        try:
            uri = join(self.uri, relative)
            if is_file_uri(uri):
                path, root = local_path(uri), local_path(self.uri)
                path.unlink(missing_ok=True)
                for parent in path.parents:  # folders left empty (a snapshot's temporary folder) go too
                    if parent == root or root not in parent.parents or any(parent.iterdir()):
                        break
                    parent.rmdir()
            else:
                bucket, key = split_s3(uri)
                self.storage.s3.delete_object(Bucket=bucket, Key=key)
        except Exception as error:
            self._note(f"could not remove checkpoint {relative} from {self.uri}: {error}")


def _signature(path):
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size
