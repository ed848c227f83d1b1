"""``LocalSession``: the same estimator, model and predictor code, run on this machine.

It is a :class:`~framework_sdk.session.Session` whose ``sagemaker_client`` and
``sagemaker_runtime_client`` run jobs, endpoints and transforms locally through the
docker or process backend; waits wait on the local events, logs come from the hosts.
No AWS account, credentials or region are needed while every location is ``file://``.
"""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable, TextIO

from framework_sdk.exceptions import ConfigurationError, UnexpectedStatusException, WaitTimeoutError
from framework_sdk.local.backends.docker import DockerBackend
from framework_sdk.local.backends.process import ProcessBackend
from framework_sdk.local.clients import Endpoint, LocalSageMakerClient
from framework_sdk.local import cleanup, registry, runs
from framework_sdk.local.config import choose_backend, configured_image_folders, user_config
from framework_sdk.local.errors import LocalModeError
from framework_sdk.local.runtime import LocalRuntimeClient
from framework_sdk.local.storage import Storage
from framework_sdk.session import LOG_TYPES, Session, check_log_type

if TYPE_CHECKING:
    import docker

    from framework_sdk._types import Response
    from framework_sdk.local.backends.base import Backend

log = logging.getLogger("framework_sdk.local")


class LocalSession(Session):
    """A session for ``instance_type="local"`` / ``"local_gpu"``.

    ``LocalSession(backend=None, work_dir=None, serving_port=None, python=None,
    startup_timeout=None, docker_client=None, image_folders=None, **session_arguments)``:

    - ``backend``: ``"docker"`` or ``"process"`` (default: ``FRAMEWORK_SDK_LOCAL_BACKEND``,
      then the user config file, then docker when an engine answers, else process);
    - ``work_dir``: where per-run temporary trees go (default: the system temp folder);
    - ``serving_port``: a fixed port for the first endpoint instance (default: free ports);
    - ``python``: the interpreter the process backend runs instead of the framework's venv;
    - ``startup_timeout``: seconds a model server may take to answer ``/ping`` (default 120);
    - ``stop_grace_seconds``: seconds a stopped training job's programs get between SIGTERM and
      SIGKILL (default 120, as on SageMaker);
    - ``image_folders``: folders of bring-your-own images the process backend runs by the
      ``tag`` in their ``image.toml`` (:mod:`framework_sdk.local.image_folders`); the config
      file's list comes after these.

    Each also reads from the ``local`` section of ``~/.config/framework-sdk/config.json``.
    """

    local_mode = True

    def __init__(self, backend: str | None = None, work_dir: str | None = None, serving_port: int | None = None,
                 python: str | None = None, startup_timeout: float | None = None,
                 docker_client: docker.DockerClient | None = None,
                 image_folders: Iterable[str | os.PathLike[str]] | None = None,
                 stop_grace_seconds: float | None = None, **session_arguments: Any) -> None:
        super().__init__(**session_arguments)
        config = user_config()
        self.backend: Backend
        self.backend_name, self.backend_reason = choose_backend(backend)
        if self.backend_name == "docker":
            self.backend = DockerBackend(docker_client)
        else:
            self.backend = ProcessBackend(python or config.get("python"),
                                          [*(image_folders or ()), *configured_image_folders(config)])
        self.storage = Storage(lambda: self.s3_client)
        self._clients["sagemaker"] = LocalSageMakerClient(
            self.backend, self.storage, work_dir=work_dir or config.get("work_dir"),
            serving_port=serving_port or config.get("serving_port"),
            startup_timeout=startup_timeout or config.get("startup_timeout"),
            stop_grace=stop_grace_seconds if stop_grace_seconds is not None else config.get("stop_grace_seconds"))
        self._clients["sagemaker-runtime"] = LocalRuntimeClient(self._clients["sagemaker"].endpoints)
        runs.handle_sigterm()  # here, in the caller's thread: endpoints start in threads of their own
        # what a killed Python left (never a live one's); docker's only when this session uses docker
        cleanup.remove_orphans(getattr(self.backend, "client", None))
        # boto3 reads AWS_ENDPOINT_URL_S3 itself; S3_ENDPOINT_URL is the other common spelling.
        self._s3_endpoint = os.environ.get("S3_ENDPOINT_URL")

    @property
    def s3_client(self) -> Any:
        if self._clients.get("s3") is None and self._s3_endpoint and not os.environ.get("AWS_ENDPOINT_URL_S3"):
            from framework_sdk.session import translate_errors

            self._clients["s3"] = translate_errors(self.boto_session.client(
                "s3", region_name=self.boto_region_name, endpoint_url=self._s3_endpoint))
        return self._client("s3")

    # ------------------------------------------------------------------ S3 only when asked
    def default_bucket(self) -> str:
        """The S3 default bucket; local mode needs one only when the job uses ``s3://``."""
        if self._default_bucket_name:
            return super().default_bucket()
        raise ConfigurationError(
            "local mode has no S3 default bucket: pass file:// locations (output_path='file:///tmp/models', "
            "inputs='file:///path/to/data'), or LocalSession(default_bucket='my-bucket') to use S3")

    def default_output_path(self) -> str:
        """Where training output goes without ``output_path``: S3 when a bucket is configured, else
        ``file://$XDG_DATA_HOME/framework-sdk/local-output/`` (``~/.local/share/...``)."""
        if self._default_bucket_name:
            return super().default_output_path()
        base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
        return "file://" + os.path.join(base, "framework-sdk", "local-output") + "/"

    def upload_data(self, path: str, bucket: str | None = None, key_prefix: str = "data",
                    callback: Callable[[int], object] | None = None,
                    extra_args: dict[str, Any] | None = None) -> str:
        """Locally, data stays where it is (``file://`` of its absolute path) unless a bucket is named."""
        if bucket is None and not self._default_bucket_name:
            if not os.path.exists(path):
                raise ConfigurationError(f"cannot use {path!r}: no such file or folder")
            return "file://" + os.path.abspath(path)
        return super().upload_data(path, bucket=bucket, key_prefix=key_prefix, callback=callback,
                                   extra_args=extra_args)

    # ---------------------------------------------------------------------- jobs and waits
    def _training_job(self, name: str) -> Any:
        self.sagemaker_client.describe_training_job(TrainingJobName=name)  # a clear error when unknown
        return self.sagemaker_client.training_jobs[name]

    @staticmethod
    def _await(run: Any, timeout: float | None, what: str) -> None:
        """Wait for ``run.done``; Ctrl-C stops the run (nothing is left behind) and is raised again."""
        try:
            if not run.done.wait(timeout):
                raise WaitTimeoutError(f"{what} is still running after {timeout} s; wait longer (timeout=...)")
        except KeyboardInterrupt:
            run.stop("interrupted (Ctrl-C)")
            raise

    def wait_for_job(self, job: str, poll: float = 5, timeout: float | None = None) -> Response:
        self._await(self._training_job(job), timeout, f"training job {job!r}")
        return _check(job, self.describe_training_job(job), "TrainingJobStatus")

    def logs_for_job(self, job_name: str, wait: bool = False, poll: float = 10, log_type: str | bool = "All",
                     timeout: float | None = None, out: TextIO | None = None) -> Response:
        """Print the job's log lines (``algo-N | ...``); with ``wait``, follow them live until the job ends.

        ``log_type`` as for :meth:`Session.logs_for_job`: ``'All'`` and ``'Training'`` print the log
        lines (and the final status), ``'Rules'`` only the final status (local jobs run no Debugger or
        Profiler rules), ``'None'`` nothing.
        """
        shown = LOG_TYPES[check_log_type(log_type)]
        job = self._training_job(job_name)
        return self._print_logs(job, job_name, wait, timeout, out, self.describe_training_job, "TrainingJobStatus",
                                shown=shown)

    def _print_logs(self, run: Any, name: str, wait: bool, timeout: float | None, out: TextIO | None,
                    describe: Callable[[str], Response], status_key: str,
                    shown: tuple[str, ...] = ("lines", "status")) -> Response:
        out = out or sys.stdout
        try:
            if wait and "lines" in shown:
                for line in run.logs.follow():
                    out.write(line + "\n")
                    out.flush()
            elif "lines" in shown:
                for line in list(run.logs.lines):
                    out.write(line + "\n")
            if wait:
                self._await(run, timeout, name)
        except KeyboardInterrupt:
            run.stop("interrupted (Ctrl-C)")
            raise
        description = describe(name)
        if run.done.is_set():
            reason = description.get("FailureReason")
            if "status" in shown:
                out.write(f"{name}: {description[status_key]}{' - ' + reason.splitlines()[0] if reason else ''}\n")
                out.flush()
            if wait:
                _check(name, description, status_key)
        return description

    def wait_for_transform_job(self, job: str, poll: float = 5, timeout: float | None = None) -> Response:
        run = self.sagemaker_client.transform_jobs.get(job)
        if run is None:
            self.describe_transform_job(job)
        self._await(run, timeout, f"transform job {job!r}")
        return _check(job, self.describe_transform_job(job), "TransformJobStatus")

    def logs_for_transform_job(self, job_name: str, wait: bool = False, poll: float = 10,
                               timeout: float | None = None, out: TextIO | None = None) -> Response:
        run = self.sagemaker_client.transform_jobs.get(job_name)
        if run is None:
            self.describe_transform_job(job_name)
        return self._print_logs(run, job_name, wait, timeout, out, self.describe_transform_job,
                                "TransformJobStatus")

    def wait_for_processing_job(self, job: str, poll: float = 5, timeout: float | None = None) -> Response:
        self._await(self._processing_job(job), timeout, f"processing job {job!r}")
        return _check(job, self.describe_processing_job(job), "ProcessingJobStatus")

    def logs_for_processing_job(self, job_name: str, wait: bool = False, poll: float = 10,
                                timeout: float | None = None, out: TextIO | None = None) -> Response:
        """Print the processing job's log lines (``algo-N | ...``); with ``wait``, follow them live until it ends."""
        return self._print_logs(self._processing_job(job_name), job_name, wait, timeout, out,
                                self.describe_processing_job, "ProcessingJobStatus")

    def _processing_job(self, name: str) -> Any:
        self.describe_processing_job(name)  # a clear error when unknown
        return self.sagemaker_client.processing_jobs[name]

    def local_endpoint(self, name: str) -> Endpoint:
        """The endpoint ``name`` running in this Python process (a :class:`~framework_sdk.local.clients.Endpoint`:
        its ``urls``, ``hosts`` and ``logs``); :class:`~framework_sdk.exceptions.AWSError` (``ValidationException``)
        when there is none, as ``DescribeEndpoint`` says. An endpoint of another process is reached by name
        through :mod:`framework_sdk.local.registry` instead."""
        self.describe_endpoint(name)
        endpoint: Endpoint = self.sagemaker_client.endpoints[name]
        return endpoint


    def logs_for_endpoint(self, endpoint_name: str, out: TextIO | None = None) -> list[str]:
        """Print the log of a local endpoint of this Python process so far (``algo-N | ...`` lines); return them."""
        endpoint = self.sagemaker_client.endpoints.get(endpoint_name)
        if endpoint is None:
            entry = registry.lookup(endpoint_name)
            elsewhere = (f"it runs in process {entry['pid']}, which holds its log (`framework-sdk serve` prints it "
                         f"live)" if entry else "no local endpoint of that name runs on this machine")
            raise LocalModeError(f"no log of local endpoint {endpoint_name!r} in this Python process: {elsewhere}")
        lines = list(endpoint.logs.lines)
        out = out or sys.stdout
        out.write("".join(line + "\n" for line in lines))
        out.flush()
        return lines

    def wait_for_endpoint(self, endpoint: str, poll: float = 30, timeout: float | None = None) -> Response:
        local = self.local_endpoint(endpoint)
        try:
            if not local.ready.wait(timeout):
                raise WaitTimeoutError(f"endpoint {endpoint!r} is still starting after {timeout} s")
        except KeyboardInterrupt:
            local.stop()
            raise
        description = self.describe_endpoint(endpoint)
        if description["EndpointStatus"] != "InService":
            reason = description.get("FailureReason")
            raise UnexpectedStatusException(f"local endpoint {endpoint!r} failed to start: {reason}",
                                            ("InService",), description["EndpointStatus"], reason, endpoint)
        return description

    def close(self) -> None:
        """Stop every local endpoint and job this session started."""
        self.sagemaker_client.close()
        self.sagemaker_runtime_client.close()


def _check(name: str, description: Response, status_key: str) -> Response:
    """The description when the run completed (or was stopped); the full failure reason otherwise."""
    status = description[status_key]
    if status == "Failed":
        reason = description.get("FailureReason")
        kind = _KINDS.get(status_key, "transform job")
        raise UnexpectedStatusException(f"local {kind} {name!r} failed: {reason}", ("Completed", "Stopped"),
                                        status, reason, name)
    if status == "Stopped":
        log.warning("job %s was stopped: %s", name, description.get("FailureReason", ""))
    return description


_KINDS = {"TrainingJobStatus": "training job", "ProcessingJobStatus": "processing job"}  # what _check calls a run
