"""A local training job: /opt/ml trees per host, hosts started by a backend, artifacts written out.

``TrainingJob(request, ...)`` takes the ``CreateTrainingJob`` request as boto3 takes it;
``start()`` runs it in a thread, ``describe()`` answers like ``DescribeTrainingJob``.
"""
import datetime
import json
import queue
import threading

from framework_sdk.local import checkpoints, runs
from framework_sdk.local.backends.base import HostSpec, add_layer, in_parallel
from framework_sdk.local.errors import HostFailure, LocalModeError
from framework_sdk.local.storage import is_file_uri, join, local_path
from framework_sdk.metrics import MetricsCollector

SUBMIT_DIRECTORY = "sagemaker_submit_directory"
STOP_GRACE_SECONDS = 120     # SIGTERM, then this long before SIGKILL, as SageMaker gives a stopped job
SIBLING_GRACE_SECONDS = 5    # the other hosts of a job one host of which failed


def _decode(value):
    """Framework estimators JSON-encode hyperparameters; plain strings pass through."""
    try:
        return json.loads(value), True
    except (TypeError, ValueError):
        return value, False


def channel_uri(channel):
    source = channel.get("DataSource", {})
    uri = source.get("S3DataSource", {}).get("S3Uri") or source.get("FileDataSource", {}).get("FileUri")
    if not uri:
        raise LocalModeError(f"channel {channel.get('ChannelName')!r} has no S3Uri or FileUri")
    return uri


def failure_reason(host, failure_text=""):
    """Why a run failed (its ``FailureReason``): the host, how it ended, its ``output/failure`` and last log lines."""
    parts = [f"host {host.name} {host.describe_exit()}"]
    if failure_text.strip():
        parts.append(f"output/failure of {host.name}:\n{failure_text.strip()}")
    if host.tail:
        parts.append(f"last log lines of {host.name}:\n" + "\n".join(host.tail))
    return "\n".join(parts)


class TrainingJob:
    """One local training job, from ``CreateTrainingJob`` to artifacts and cleanup."""

    def __init__(self, request, backend, storage, work_dir=None, stop_grace=None):
        self.request = request
        self.name = request["TrainingJobName"]
        self.backend = backend
        self.storage = storage
        self.work_dir = work_dir
        self.logs = runs.LogBook()
        self.done = threading.Event()
        self.error = None
        self.hosts = []
        self.hosts_to_hand_back = []
        self._stop_reason = None
        self._stop_status = "Stopped"  # SecondaryStatus once stopped (MaxRuntimeExceeded for max_run)
        self.stop_grace = STOP_GRACE_SECONDS if stop_grace is None else float(stop_grace)
        self.checkpoints = []  # one CheckpointSync per host when the request has a CheckpointConfig
        self._lock = threading.Lock()
        self.status = {"TrainingJobStatus": "InProgress", "SecondaryStatus": "Starting",
                       "CreationTime": runs.utc_now(), "LastModifiedTime": runs.utc_now()}
        self.group = f"fsdk-{self.name}"
        self.image = request["AlgorithmSpecification"]["TrainingImage"]  # or one with the requirements installed
        # metric_definitions, applied to every log line of every host as SageMaker applies them
        self.metrics = MetricsCollector(request["AlgorithmSpecification"].get("MetricDefinitions"),
                                        start_time=self.status["CreationTime"].timestamp())

    # ------------------------------------------------------------------ public
    def start(self):
        """Check what can be checked at once (image, channels), then run the job in a thread."""
        image = self.request["AlgorithmSpecification"]["TrainingImage"]
        self.backend.check_image(image)
        runs.track(self)
        threading.Thread(target=self._run, name=f"local-job-{self.name}", daemon=True).start()
        return self

    def stop(self, reason="stopped by stop_training_job", wait=True, grace=None, secondary="Stopped"):
        """Stop every host: SIGTERM, ``grace`` seconds (default :attr:`stop_grace`), then SIGKILL.

        The job goes ``Stopping`` at once and ends ``Stopped`` with the checkpoints and model written so
        far kept. ``wait=False`` returns at once (as ``StopTrainingJob``); else it waits for the end.
        """
        grace = self.stop_grace if grace is None else grace
        with self._lock:
            if self.done.is_set():
                return
            first = self._stop_reason is None
            if first:
                self._stop_reason, self._stop_status = reason, secondary
                self._set(TrainingJobStatus="Stopping", SecondaryStatus="Stopping")
            hosts = list(self.hosts)
        if first or wait:
            self._note(f"stopping: {reason} (SIGTERM, then SIGKILL after {grace:g}s)")
            stopper = threading.Thread(target=in_parallel, args=(lambda host: host.stop(grace), hosts),
                                       name=f"stop-{self.name}", daemon=True)
            stopper.start()
        if wait:
            self.done.wait(grace + 60)

    def describe(self):
        request = {key: value for key, value in self.request.items() if key != "TrainingJobName"}
        description = {"TrainingJobName": self.name,
                       "TrainingJobArn": f"arn:aws:sagemaker:local:000000000000:training-job/{self.name}",
                       **request, **self.status}
        final = self.metrics.final_metric_data()
        if final:
            description["FinalMetricDataList"] = final
        return description

    # ------------------------------------------------------------------ the run
    def _set(self, **fields):
        self.status.update(fields, LastModifiedTime=runs.utc_now())

    def _line(self, host, line):
        self.logs.add(f"{host.name} | {line}")
        self.metrics.feed(line)

    def _note(self, line):
        self.logs.add(f"[framework-sdk] {line}")

    def _run(self):
        root = runs.new_root(self.name, self.work_dir)
        try:
            self._set(TrainingStartTime=runs.utc_now(), SecondaryStatus="Downloading")
            specs = self._prepare(root)
            self._set(SecondaryStatus="Training")
            try:
                self._train(specs)
            except BaseException:
                if self._stop_reason is None:
                    raise
            finally:
                self._finish_checkpoints()
            if self._stop_reason is None:
                self._set(SecondaryStatus="Uploading")
            artifacts = self._upload(root, specs)  # a stopped job's model so far too, as SageMaker packages it
            if self._stop_reason is not None:
                self._set(TrainingJobStatus="Stopped", SecondaryStatus=self._stop_status,
                          FailureReason=f"the job was {self._stop_reason}", **artifacts)
                self._note(f"training job {self.name} stopped: {self._stop_reason}")
            else:
                self._set(TrainingJobStatus="Completed", SecondaryStatus="Completed", **artifacts)
        except BaseException as error:  # everything ends the job with its reason
            self.error = error
            stopped = self._stop_reason is not None
            status = "Stopped" if stopped else "Failed"
            reason = f"the job was {self._stop_reason}" if stopped else str(error)
            self._set(TrainingJobStatus=status, SecondaryStatus=status, FailureReason=reason)
            self.logs.add(f"[framework-sdk] training job {self.name} {status.lower()}: {reason.splitlines()[0]}")
        finally:
            self._finish_checkpoints()
            self._cleanup(root)
            self._set(TrainingEndTime=runs.utc_now(), **self._billing())
            self.logs.close()
            runs.untrack(self)
            self.done.set()

    def _billing(self):
        """``TrainingTimeInSeconds`` / ``BillableTimeInSeconds`` as SageMaker reports them (local time is not billed
        but counted the same way: from the start of training to its end)."""
        started = self.status.get("TrainingStartTime")
        if started is None:
            return {}
        seconds = max(1, round((runs.utc_now() - started).total_seconds()))
        return {"TrainingTimeInSeconds": seconds, "BillableTimeInSeconds": seconds}

    def _checkpoint_folder(self, spec, local_path, host_count):
        """Seed ``spec``'s checkpoint folder from the URI and say where the program sees it; returns the sync."""
        uri = checkpoints.host_uri(self.request["CheckpointConfig"]["S3Uri"], spec.name, host_count)
        folder = spec.root / checkpoints.relative_folder(local_path)
        sync = checkpoints.CheckpointSync(self.storage, uri, folder, on_note=self._note)
        sync.seed()
        spec.environment[checkpoints.ENV] = self.backend.writable_folder(spec, folder, local_path)
        return sync

    def _finish_checkpoints(self):
        syncs, self.checkpoints = self.checkpoints, []
        for sync in syncs:
            sync.finish()

    def _prepare(self, root):
        request = self.request
        resources = request.get("ResourceConfig", {})
        count = int(resources.get("InstanceCount", 1))
        names = [f"algo-{i}" for i in range(1, count + 1)]
        links = []
        # Channels: file:// linked read-only as they are, s3:// downloaded once for all hosts.
        data_config = {}
        for channel in request.get("InputDataConfig", []):
            name = channel["ChannelName"]
            path = self.storage.fetch(channel_uri(channel), root / "channels" / name)
            relative = f"input/data/{name}" + (f"/{path.name}" if path.is_file() else "")
            links.append((path, relative))
            data_config[name] = {
                "TrainingInputMode": channel.get("InputMode", request["AlgorithmSpecification"].get(
                    "TrainingInputMode", "File")),
                "S3DistributionType": channel.get("DataSource", {}).get("S3DataSource", {}).get(
                    "S3DistributionType", "FullyReplicated"),
                "RecordWrapperType": channel.get("RecordWrapperType", "None"),
            }
            for key in ("ContentType", "CompressionType"):
                if key in channel:
                    data_config[name][key] = channel[key]
        hyperparameters = dict(request.get("HyperParameters", {}))
        environment = dict(request.get("Environment", {}))
        code_link, code_relative = self._code(hyperparameters, root)
        if code_link is not None:
            links.append((code_link, code_relative))
            requirements = runs.code_requirements(code_link, root / "code-unpacked")
            layer = requirements and self.backend.requirements_layer(self.image, requirements, self._note)
            if layer:  # installed once and cached, not by the toolkit at every run
                self.image, additions = layer
                add_layer(environment, additions)
        specs = []
        for name in names:
            tree = runs.host_tree(root, name, [f"input/data/{c}" for c in data_config])
            spec = HostSpec(name=name, role="train", root=tree, environment=dict(environment), links=list(links))
            checkpoint_path = checkpoints.local_path_of(request)
            if checkpoint_path:
                self.checkpoints.append(self._checkpoint_folder(spec, checkpoint_path, count))
            base = self.backend.base_dir(spec)
            hps = dict(hyperparameters)
            if code_link is not None:
                value, encoded = _decode(hps[SUBMIT_DIRECTORY])
                inside = f"{base}/{code_relative}"
                hps[SUBMIT_DIRECTORY] = json.dumps(inside) if encoded else inside
            config = tree / "input" / "config"
            (config / "hyperparameters.json").write_text(json.dumps(hps))
            (config / "inputdataconfig.json").write_text(json.dumps(data_config))
            (config / "resourceconfig.json").write_text(json.dumps({
                "current_host": name, "hosts": names, "network_interface_name": "eth0",
                "current_group_name": "homogeneousCluster",
                "current_instance_type": resources.get("InstanceType", "local"),
                "instance_groups": [{"instance_group_name": "homogeneousCluster", "hosts": names,
                                     "instance_type": resources.get("InstanceType", "local")}],
            }))
            specs.append(spec)
        for sync in self.checkpoints:
            sync.start()
        return specs

    def _code(self, hyperparameters, root):
        """The source folder (or tarball) named by ``sagemaker_submit_directory`` on this machine: a
        ``file://`` one where it is, an ``s3://`` one downloaded once (so no host needs S3 credentials)."""
        if SUBMIT_DIRECTORY not in hyperparameters:
            return None, None
        value, _ = _decode(hyperparameters[SUBMIT_DIRECTORY])
        if is_file_uri(value):
            path = local_path(value)
            if not path.exists():
                raise LocalModeError(f"source_dir {value} does not exist on this machine")
        elif isinstance(value, str) and value.startswith("s3://"):
            folder = self.storage.fetch(value, root / "submitted-code")
            files = list(folder.iterdir())
            path = files[0] if len(files) == 1 and files[0].is_file() else folder
        else:
            return None, None
        return path, ("code" if path.is_dir() else f"code-archive/{path.name}")

    def _train(self, specs):
        exits = queue.Queue()
        gpu = self.request.get("ResourceConfig", {}).get("InstanceType") == "local_gpu"
        with self._lock:
            if self._stop_reason is not None:
                raise LocalModeError("stopped before it started")
        started = self.backend.start(self.group, self.image, specs, gpu=gpu, on_line=self._line, on_exit=exits.put)
        with self._lock:
            self.hosts = started
            self.hosts_to_hand_back = [host.spec for host in started]
            stop_now = self._stop_reason is not None
        if stop_now:
            in_parallel(lambda other: other.stop(self.stop_grace), started)
        limit = self.request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        deadline = None if limit is None else runs.utc_now() + datetime.timedelta(seconds=int(limit))
        remaining = len(started)
        while remaining:
            timeout = None if deadline is None else max(0.0, (deadline - runs.utc_now()).total_seconds())
            try:
                host = exits.get(timeout=timeout)
            except queue.Empty:  # out of time: stopped as SageMaker stops it (SIGTERM, grace, SIGKILL)
                deadline = None
                self.stop(f"stopped after MaxRuntimeInSeconds={limit}", wait=False, secondary="MaxRuntimeExceeded")
                continue
            remaining -= 1
            if self._stop_reason is not None:
                continue  # stopping: every host ends, whatever its exit code
            if host.exit_code != 0:
                in_parallel(lambda other: other.stop(SIBLING_GRACE_SECONDS), [h for h in started if h is not host])
                if self._stop_reason is not None:
                    raise LocalModeError(self._stop_reason)
                failure = host.spec.root / "output" / "failure"
                text = failure.read_text(errors="replace") if failure.is_file() else ""
                raise HostFailure(failure_reason(host, text),
                                  host=host.name, exit_code=host.exit_code)

    def _upload(self, root, specs):
        self._hand_back()
        output_path = self.request.get("OutputDataConfig", {}).get("S3OutputPath")
        if not output_path:
            raise LocalModeError("the job has no OutputDataConfig.S3OutputPath; give the estimator an "
                                 "output_path such as file:///tmp/models or s3://bucket/prefix")
        model, data = root / "merged-model", root / "merged-output"
        model.mkdir()
        data.mkdir()
        for spec in specs:  # algo-1 first: its files win, as SageMaker keeps the master's
            runs.merge_tree(spec.root / "model", model)
            runs.merge_tree(spec.root / "output" / "data", data)
        destination = join(output_path, self.name, "output")
        model_uri = self.storage.put(runs.tar_directory(model, root / "model.tar.gz"),
                                     join(destination, "model.tar.gz"))
        artifacts = {"ModelArtifacts": {"S3ModelArtifacts": model_uri}}
        if runs.has_files(data):
            self.storage.put(runs.tar_directory(data, root / "output.tar.gz"), join(destination, "output.tar.gz"))
        return artifacts

    def _cleanup(self, root):
        def remove(host):
            try:
                host.remove()
            except Exception as error:
                self.logs.add(f"[framework-sdk] could not remove {host.name}: {error}")

        in_parallel(remove, self.hosts)
        self.backend.release(self.group)
        try:
            self._hand_back()
        finally:
            runs.remove_tree(root)

    def _hand_back(self):
        """Make the hosts' trees the caller's again (the docker backend runs containers as root)."""
        image = self.request["AlgorithmSpecification"]["TrainingImage"]
        while self.hosts_to_hand_back:
            self.backend.hand_back(image, self.hosts_to_hand_back.pop().root)
