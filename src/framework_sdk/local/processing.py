"""A local processing job: per-host /opt/ml trees holding the inputs, hosts started by a backend, outputs written out.

``ProcessingJob(request, ...)`` takes the ``CreateProcessingJob`` request as boto3 takes it;
``start()`` runs it in a thread, ``describe()`` answers like ``DescribeProcessingJob``. The
contract each host sees is SageMaker's:

- every input at its ``LocalPath`` under ``/opt/ml/processing``: a ``file://`` source linked as
  it is (read-only in a container), an ``s3://`` one downloaded once. ``ShardedByS3Key`` gives
  host *i* of *n* (from 0) the objects *i*, *i+n*, *i+2n*, ... of the sorted list (each host its
  own folder), ``FullyReplicated`` all of them;
- ``/opt/ml/config/processingjobconfig.json`` (the request, with its ARN) and
  ``/opt/ml/config/resourceconfig.json`` (``current_host``, ``hosts``);
- ``ContainerEntrypoint`` + ``ContainerArguments`` as the command, ``Environment`` passed through;
- every output's ``LocalPath`` made empty; its files go to ``S3Uri`` (``file://`` or ``s3://``)
  when the job completes (``EndOfJob``) or as they change while it runs (``Continuous``: every
  :data:`CONTINUOUS_SECONDS` and once more at the end). Hosts writing the same file: algo-1's wins;
- exit code 0 on every host: ``Completed``; otherwise ``Failed``, the other hosts stopped, with
  ``FailureReason`` holding the host, its exit code, its ``output/message``, the script's
  traceback and the log lines before it; ``ExitMessage`` is the first KB of the hosts'
  ``output/message``.

Where a host's tree is not at ``/opt/ml`` (the process backend gives each host its own folder,
named by ``SAGEMAKER_BASE_DIR``), every ``/opt/ml`` path of the request is moved to the tree: in
the command line, in the environment's values and in ``processingjobconfig.json`` alike, so a
script that takes its paths from its arguments (``--input /opt/ml/processing/input``) runs
unchanged; and :mod:`framework_sdk.local.path_redirect` goes first on ``PYTHONPATH``, so a
Python script that opens ``/opt/ml/...`` paths written in its code (argparse defaults) does too.

A job with the inputs ``code`` and ``entrypoint`` is a FrameworkProcessor's (ours or SageMaker
v2's): the ``requirements.txt`` in its code is installed once into a cached layer, as for
training, and ``FRAMEWORK_SDK_REQUIREMENTS_INSTALLED=1`` tells the runner script so.
"""
import datetime
import os
import queue
import shutil
import threading
from pathlib import Path

from framework_sdk import contract
from framework_sdk.local import path_redirect, runs
from framework_sdk.local.backends.base import HostSpec, add_layer, in_parallel
from framework_sdk.local.errors import HostFailure, LocalModeError
from framework_sdk.local.storage import is_file_uri, join
from framework_sdk.local.training import STOP_GRACE_SECONDS

CODE_INPUT, ENTRYPOINT_INPUT = "code", "entrypoint"  # FrameworkProcessor's inputs (SageMaker v2's names)
CONTINUOUS_SECONDS = 2.0
TRACEBACK_START = "Traceback (most recent call last):"
TRACEBACK_LINES = 200  # at most this many lines of a traceback go into FailureReason
CONTEXT_LINES = 10     # log lines before the traceback that go with it
HINT = "[framework-sdk]"  # lines a backend adds to a host's output (advice), not the script's


def arn(name):
    return f"arn:aws:sagemaker:local:000000000000:processing-job/{name}"


def rebased(value, base):
    """``value`` (the request or a part of it) with every ``/opt/ml`` path in it moved to ``base``."""
    if isinstance(value, str):
        return contract.rebase(value, base)
    if isinstance(value, list):
        return [rebased(item, base) for item in value]
    if isinstance(value, dict):
        return {key: rebased(item, base) for key, item in value.items()}
    return value


def shard(items, index, count):
    """Host ``index``'s share (from 0, of ``count`` hosts) under ``ShardedByS3Key``: items index, index+count, ..."""
    return list(items)[index::count]


def files_under(path):
    """``[(relative name, path)]`` of a file (its own name) or of every regular file under a folder, sorted;
    symbolic links are not followed (an input linked inside an output folder is not the output's)."""
    path = Path(path)
    if path.is_file():
        return [(path.name, path)]
    found = []
    for folder, dirs, names in os.walk(path):
        dirs[:] = [name for name in dirs if not os.path.islink(os.path.join(folder, name))]
        for name in names:
            file = Path(folder) / name
            if file.is_file() and not file.is_symlink():
                found.append((file.relative_to(path).as_posix(), file))
    return sorted(found)


def materialize(files, folder, subfolders=()):
    """Hard-link (or copy, across file systems) ``files`` (``[(relative name, path)]``) into ``folder``, with
    the empty ``subfolders`` where nested inputs are mounted; returns ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for relative, path in files:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
    for relative in subfolders:
        (folder / relative).mkdir(parents=True, exist_ok=True)
    return folder


def inside(path, folder):
    """True when the relative ``path`` lies strictly inside the relative ``folder``."""
    return path != folder and path.startswith(folder.rstrip("/") + "/")


def _last_index(lines, text):
    return max((index for index, line in enumerate(lines) if line.startswith(text)), default=len(lines))


class ProcessingJob:
    """One local processing job, from ``CreateProcessingJob`` to outputs and cleanup."""

    def __init__(self, request, backend, storage, work_dir=None):
        self.request = request
        self.name = request["ProcessingJobName"]
        self.backend = backend
        self.storage = storage
        self.work_dir = work_dir
        self.logs = runs.LogBook()
        self.done = threading.Event()
        self.hosts_done = threading.Event()
        self.error = None
        self.hosts = []
        self.hosts_to_hand_back = []
        self.tracebacks = {}   # host name -> the lines of the last Python traceback it printed
        self._stop_reason = None
        self._lock = threading.Lock()
        self._uploaded = {}    # (output name, relative name) -> signature of the file last uploaded
        self._fetched = {}     # input name -> its local path (None: fetched per host)
        self.image = request["AppSpecification"]["ImageUri"]
        created = runs.utc_now()
        self.status = {"ProcessingJobStatus": "InProgress", "CreationTime": created, "LastModifiedTime": created}

    # ------------------------------------------------------------------ public
    def start(self):
        """Check what can be checked at once (image, paths), then run the job in a thread."""
        self.backend.check_image(self.image)
        self._check_request()
        runs.track(self)
        threading.Thread(target=self._run, name=f"local-processing-{self.name}", daemon=True).start()
        return self

    def stop(self, reason="stopped by stop_processing_job"):
        """Stop every host; the job ends as ``Stopped`` and leaves nothing behind."""
        with self._lock:
            if self.done.is_set():
                return
            self._stop_reason = reason
            hosts = list(self.hosts)
            self._set(ProcessingJobStatus="Stopping")
        in_parallel(lambda host: host.stop(STOP_GRACE_SECONDS), hosts)
        self.done.wait(STOP_GRACE_SECONDS + 30)

    def describe(self):
        request = {key: value for key, value in self.request.items() if key != "ProcessingJobName"}
        return {"ProcessingJobName": self.name, "ProcessingJobArn": arn(self.name), **request, **self.status}

    def summary(self):
        """The job's entry of ``ListProcessingJobs``."""
        keys = ("CreationTime", "ProcessingEndTime", "LastModifiedTime", "ProcessingJobStatus", "FailureReason",
                "ExitMessage")
        return {"ProcessingJobName": self.name, "ProcessingJobArn": arn(self.name),
                **{key: self.status[key] for key in keys if key in self.status}}

    # ------------------------------------------------------------------ checks
    def _inputs(self):
        return self.request.get("ProcessingInputs") or []

    def _outputs(self):
        return (self.request.get("ProcessingOutputConfig") or {}).get("Outputs") or []

    def _check_request(self):
        destinations = {}
        for entry in self._inputs():
            name = entry.get("InputName")
            s3 = entry.get("S3Input")
            if not s3:
                raise LocalModeError(f"input {name!r} has no S3Input: local mode reads s3:// and file:// inputs, "
                                     f"not DatasetDefinition (Athena, Redshift) ones")
            if s3.get("S3InputMode", "File") != "File":
                raise LocalModeError(f"input {name!r} asks for S3InputMode={s3['S3InputMode']!r}; local mode "
                                     f"supports 'File' only")
            if s3.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise LocalModeError(f"input {name!r} asks for S3DataType={s3['S3DataType']!r}; local mode "
                                     f"supports 'S3Prefix' only")
            destination = self._relative(s3.get("LocalPath"), f"input {name!r}")
            if destination in destinations.values():
                raise LocalModeError(f"inputs {sorted(k for k, v in destinations.items() if v == destination)} and "
                                     f"{name!r} have the same LocalPath {s3['LocalPath']!r}: give each its own")
            destinations[name] = destination
        for entry in self._outputs():
            name = entry.get("OutputName")
            if not entry.get("S3Output"):
                raise LocalModeError(f"output {name!r} has no S3Output: local mode writes to s3:// and file:// "
                                     f"locations, not to a feature store")
            source = self._relative(entry["S3Output"].get("LocalPath"), f"output {name!r}")
            for input_name, destination in destinations.items():
                if source == destination or inside(source, destination):
                    raise LocalModeError(
                        f"output {name!r} ({contract.BASE_DIR}/{source}) is inside input {input_name!r} "
                        f"({contract.BASE_DIR}/{destination}), which is read-only here: give the output a folder "
                        f"of its own, e.g. {contract.PROCESSING_DIR}/output/{name}")

    @staticmethod
    def _relative(container_path, what):
        try:
            return contract.relative_to_base(contract.check_processing_path(container_path, f"{what} LocalPath"))
        except contract.ContractError as error:
            raise LocalModeError(str(error)) from None

    # ------------------------------------------------------------------ the run
    def _set(self, **fields):
        self.status.update(fields, LastModifiedTime=runs.utc_now())

    def _line(self, host, line):
        self.logs.add(f"{host.name} | {line}")
        if line.startswith(TRACEBACK_START):
            self.tracebacks[host.name] = [line]
        elif (host.name in self.tracebacks and len(self.tracebacks[host.name]) < TRACEBACK_LINES
              and not line.startswith(HINT)):
            self.tracebacks[host.name].append(line)

    def _note(self, line):
        self.logs.add(f"[framework-sdk] {line}")

    def _run(self):
        root = runs.new_root(self.name, self.work_dir)
        uploader = None
        try:
            self._set(ProcessingStartTime=runs.utc_now())
            specs = self._prepare(root)
            uploader = threading.Thread(target=self._upload_continuously, args=(specs,), daemon=True,
                                        name=f"local-processing-{self.name}-uploads")
            uploader.start()
            try:
                self._process(specs)
            except BaseException:
                self._end_hosts(uploader, specs, quiet=True)  # what Continuous outputs have, even so
                raise
            self._end_hosts(uploader, specs)
            self._upload(specs, "EndOfJob")
            self._set(ProcessingJobStatus="Completed", **self._exit_message(specs))
        except BaseException as error:  # everything ends the job with its reason
            self.error = error
            stopped = self._stop_reason is not None
            status = "Stopped" if stopped else "Failed"
            reason = f"the job was {self._stop_reason}" if stopped else str(error)
            self._set(ProcessingJobStatus=status, FailureReason=reason,
                      **self._exit_message([host.spec for host in self.hosts]))
            self._note(f"processing job {self.name} {status.lower()}: {reason.splitlines()[0]}")
        finally:
            self.hosts_done.set()
            self._cleanup(root)
            self._set(ProcessingEndTime=runs.utc_now())
            self.logs.close()
            runs.untrack(self)
            self.done.set()

    def _prepare(self, root):
        """Every host's tree (inputs linked, outputs made, config files written) and its :class:`HostSpec`."""
        resources = self.request["ProcessingResources"]["ClusterConfig"]
        names = contract.host_names(int(resources.get("InstanceCount", 1)))
        links = self._input_links(root, names)
        environment = dict(self.request.get("Environment") or {})
        self._requirements_layer(root, environment)
        return [self._host(contract.Layout(root / name), names, links[name], environment) for name in names]

    def _host(self, layout, names, links, environment):
        name = layout.base.name
        for folder in (layout.config_dir, layout.output_dir, layout.processing_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for entry in self._outputs():
            layout.local(entry["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
        spec = HostSpec(name=name, role=contract.PROCESS, root=layout.base,
                        links=sorted(links, key=lambda link: link[1].count("/")))  # parents first
        base = self.backend.base_dir(spec)
        spec.environment = rebased(environment, base)
        if base != contract.BASE_DIR:  # a Python script's literal /opt/ml paths reach the tree too
            spec.environment["PYTHONPATH"] = os.pathsep.join(
                filter(None, [path_redirect.FOLDER, spec.environment.get("PYTHONPATH")]))
        application = self.request["AppSpecification"]
        spec.entrypoint = rebased(application.get("ContainerEntrypoint"), base)
        spec.arguments = rebased(list(application.get("ContainerArguments") or []), base)
        config = dict(self.request, ProcessingJobArn=arn(self.name))
        contract.write_processing_config(layout, rebased(config, base), contract.resource_config(name, names))
        return spec

    def _input_links(self, root, names):
        """``{host: [(local path, path relative to /opt/ml)]}`` of every input."""
        links = {name: [] for name in names}
        destinations = [self._relative(entry["S3Input"]["LocalPath"], "") for entry in self._inputs()]
        for entry in self._inputs():
            name, s3 = entry["InputName"], entry["S3Input"]
            relative = self._relative(s3["LocalPath"], "")
            nested = [other[len(relative) + 1:] for other in destinations if inside(other, relative)]
            sharded = s3.get("S3DataDistributionType") == "ShardedByS3Key" and len(names) > 1
            scratch = root / "inputs" / name
            fetch_once = not sharded or is_file_uri(s3["S3Uri"])
            source = self.storage.fetch(s3["S3Uri"], scratch / "fetched") if fetch_once else None
            if source is not None and source.is_file() and any(inside(relative, other) for other in destinations):
                source = materialize(files_under(source), scratch / "folder")  # mounted where a folder can be
            self._fetched[name] = source
            for index, host in enumerate(names):
                if source is None:  # s3:// sharded: download only this host's objects
                    folder = self.storage.fetch(s3["S3Uri"], scratch / host,
                                                select=lambda keys, i=index: shard(keys, i, len(names)))
                    links[host].append((materialize((), folder, nested), relative))
                elif sharded or nested:  # this host's own folder: its share, and room for nested inputs
                    files = files_under(source)
                    mine = shard(files, index, len(names)) if sharded else files
                    links[host].append((materialize(mine, scratch / host, nested), relative))
                else:
                    links[host].append((source, relative + (f"/{source.name}" if source.is_file() else "")))
            if sharded:
                self._note(f"input {name!r} is ShardedByS3Key: each of the {len(names)} hosts gets its share")
        return links

    def _requirements_layer(self, root, environment):
        """A FrameworkProcessor's ``requirements.txt``, installed once in a cached layer (as for training)."""
        names = {entry.get("InputName") for entry in self._inputs()}
        code = self._fetched.get(CODE_INPUT)
        if code is None or not {CODE_INPUT, ENTRYPOINT_INPUT} <= names:
            return
        archive = Path(code) / "sourcedir.tar.gz"
        requirements = runs.code_requirements(archive if archive.is_file() else code, root / "code-unpacked")
        layer = requirements and self.backend.requirements_layer(self.image, requirements, self._note)
        if layer:
            self.image, additions = layer
            add_layer(environment, additions)

    def _process(self, specs):
        exits = queue.Queue()
        gpu = self.request["ProcessingResources"]["ClusterConfig"].get("InstanceType") == "local_gpu"
        with self._lock:
            if self._stop_reason is not None:
                raise LocalModeError("stopped before it started")
        started = self.backend.start(f"fsdk-{self.name}", self.image, specs, gpu=gpu, on_line=self._line,
                                     on_exit=exits.put)
        with self._lock:
            self.hosts = started
            self.hosts_to_hand_back = [host.spec for host in started]
            stop_now = self._stop_reason is not None
        if stop_now:
            in_parallel(lambda other: other.stop(STOP_GRACE_SECONDS), started)
        limit = (self.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        deadline = None if limit is None else runs.utc_now() + datetime.timedelta(seconds=int(limit))
        for _ in started:
            timeout = None if deadline is None else max(0.0, (deadline - runs.utc_now()).total_seconds())
            try:
                host = exits.get(timeout=timeout)
            except queue.Empty:
                self._stop_reason = f"stopped after MaxRuntimeInSeconds={limit}"
                in_parallel(lambda other: other.stop(STOP_GRACE_SECONDS), started)
                raise LocalModeError(f"it ran longer than MaxRuntimeInSeconds={limit}") from None
            if host.exit_code != 0:
                in_parallel(lambda other: other.stop(STOP_GRACE_SECONDS),
                            [other for other in started if other is not host])
                if self._stop_reason is not None:
                    raise LocalModeError(self._stop_reason)
                raise HostFailure(self._failure_reason(host), host=host.name, exit_code=host.exit_code)

    def _failure_reason(self, host):
        """The host, how it ended, its ``output/message``, the script's traceback and the log lines before it."""
        parts = [f"host {host.name} {host.describe_exit()}"]
        message = contract.read_exit_message(contract.Layout(host.spec.root)).strip()
        if message:
            parts.append(f"output/message of {host.name}:\n{message}")
        tail = list(host.tail)
        traceback = self.tracebacks.get(host.name)
        if traceback:
            start = _last_index(tail, TRACEBACK_START)
            hints = [line for line in tail[start:] if line.startswith(HINT)]  # the backend's advice, after it
            parts.append(f"the script's traceback on {host.name}:\n" + "\n".join(traceback))
            tail = tail[:start][-CONTEXT_LINES:]
        if tail:
            parts.append(f"last log lines of {host.name}{' before it' if traceback else ''}:\n" + "\n".join(tail))
        if traceback and hints:
            parts.extend(hints)
        return "\n".join(parts)

    @staticmethod
    def _exit_message(specs):
        """``ExitMessage``: the hosts' ``output/message`` joined, its first KB."""
        text = "".join(contract.read_exit_message(contract.Layout(spec.root)) for spec in specs)
        return {"ExitMessage": text[:contract.EXIT_MESSAGE_LIMIT]} if text else {}

    # ------------------------------------------------------------------ outputs
    def _end_hosts(self, uploader, specs, quiet=False):
        """After the hosts: stop the Continuous uploads, hand the trees back, upload the Continuous outputs' last
        changes (``quiet``: a failure to is only noted, the job has already failed)."""
        self.hosts_done.set()
        uploader.join()
        self._hand_back()
        try:
            self._upload(specs, "Continuous")
        except Exception as error:
            if not quiet:
                raise
            self._note(f"could not upload the Continuous outputs: {error}")

    def _upload_continuously(self, specs):
        if not any(entry["S3Output"].get("S3UploadMode") == "Continuous" for entry in self._outputs()):
            return
        while not self.hosts_done.wait(CONTINUOUS_SECONDS):
            try:
                self._upload(specs, "Continuous")
            except Exception as error:  # the next round or the last upload tries again
                self._note(f"could not upload Continuous outputs yet: {error}")

    def _upload(self, specs, mode):
        """Write the changed files of the outputs in ``mode`` (``EndOfJob``/``Continuous``) to their ``S3Uri``."""
        for entry in self._outputs():
            output = entry["S3Output"]
            if output.get("S3UploadMode", "EndOfJob") != mode:
                continue
            chosen = {}
            for spec in specs:  # algo-1 first: its file wins
                for relative, path in files_under(contract.Layout(spec.root).local(output["LocalPath"])):
                    chosen.setdefault(relative, path)
            for relative, path in chosen.items():
                stat = path.stat()
                key, signature = (entry["OutputName"], relative), (str(path), stat.st_size, stat.st_mtime_ns)
                if self._uploaded.get(key) != signature:
                    self.storage.put(path, join(output["S3Uri"], relative))
                    self._uploaded[key] = signature

    # ------------------------------------------------------------------ cleanup
    def _cleanup(self, root):
        def remove(host):
            try:
                host.remove()
            except Exception as error:
                self._note(f"could not remove {host.name}: {error}")

        in_parallel(remove, self.hosts)
        self.backend.release(f"fsdk-{self.name}")
        try:
            self._hand_back()
        finally:
            runs.remove_tree(root)

    def _hand_back(self):
        """Make the hosts' trees the caller's again (the docker backend runs containers as root)."""
        while self.hosts_to_hand_back:
            self.backend.hand_back(self.request["AppSpecification"]["ImageUri"], self.hosts_to_hand_back.pop().root)


def list_summaries(jobs, NameContains=None, StatusEquals=None, CreationTimeAfter=None, CreationTimeBefore=None,
                   LastModifiedTimeAfter=None, LastModifiedTimeBefore=None, SortBy="CreationTime",
                   SortOrder="Descending", MaxResults=None, NextToken=None):
    """``ListProcessingJobs``' answer over local ``jobs`` (its filters; one page)."""
    summaries = [job.summary() for job in jobs]
    kept = [summary for summary in summaries
            if (NameContains is None or NameContains in summary["ProcessingJobName"])
            and (StatusEquals is None or summary["ProcessingJobStatus"] == StatusEquals)
            and (CreationTimeAfter is None or summary["CreationTime"] > CreationTimeAfter)
            and (CreationTimeBefore is None or summary["CreationTime"] < CreationTimeBefore)
            and (LastModifiedTimeAfter is None or summary["LastModifiedTime"] > LastModifiedTimeAfter)
            and (LastModifiedTimeBefore is None or summary["LastModifiedTime"] < LastModifiedTimeBefore)]
    field = {"Name": "ProcessingJobName", "Status": "ProcessingJobStatus"}.get(SortBy, "CreationTime")
    kept.sort(key=lambda summary: summary[field], reverse=SortOrder != "Ascending")
    return {"ProcessingJobSummaries": kept[:MaxResults] if MaxResults else kept}
