"""Processing jobs: preparing data before training and evaluating models after it.

SageMaker Python SDK v2's names (``sagemaker.processing``): :class:`ProcessingInput`,
:class:`ProcessingOutput`, :class:`Processor` (any image, its own entrypoint),
:class:`ScriptProcessor` (a script run by a ``command`` in an image), :class:`FrameworkProcessor`
(a script with its ``source_dir`` and ``requirements.txt`` in a framework's image) and
:class:`ProcessingJob` (a started job). ``run`` builds one ``CreateProcessingJob`` request and
sends it through ``sagemaker_session.sagemaker_client``: AWS and local mode
(``instance_type='local'``) share that one path, as estimators do.

Where things go, as SageMaker names them:

- an input whose ``source`` is a local path is uploaded to ``s3://<bucket>/<job>/input/<name>``
  on AWS, and used in place (``file://``) locally;
- an output without ``destination`` goes to ``<default output path><job>/output/<name>``:
  ``s3://<default bucket>/<job>/output/<name>`` on AWS, a ``file://`` folder locally without a bucket;
- inputs and outputs without a name are ``input-1``, ``output-1``, ... in their order;
- a :class:`ScriptProcessor`'s code is the input ``code`` at ``/opt/ml/processing/input/code``;
  a :class:`FrameworkProcessor` adds the input ``entrypoint`` with a small ``sh`` script that
  unpacks ``sourcedir.tar.gz``, installs ``requirements.txt`` (unless the local engine already
  did, ``FRAMEWORK_SDK_REQUIREMENTS_INSTALLED=1``) and runs the script with ``command``.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import contract, image_uris, naming
from .exceptions import ConfigurationError
from .inputs import check_uri, uri_scheme
from .jobs import StartedJob, check_role, resolve_session
from .packaging import SOURCEDIR, check_dependencies, local_code_dir, pack_sourcedir, resolve_entry_point
from .session import Session, format_tags, parse_s3_uri, s3_uri

if TYPE_CHECKING:
    from ._types import Request, Response, Tags

CODE_INPUT = "code"
ENTRYPOINT_INPUT = "entrypoint"
CODE_DIR = f"{contract.PROCESSING_DIR}/input/{CODE_INPUT}"
ENTRYPOINT_DIR = f"{contract.PROCESSING_DIR}/input/{ENTRYPOINT_INPUT}"
RUNNER_SCRIPT = "runproc.sh"


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigurationError(f"{name}={value!r} is not valid; use one of {', '.join(choices)}")


def _duplicates(names: list[str]) -> list[str]:
    return sorted({name for name in names if names.count(name) > 1})


def _container_path(path: object, what: str) -> str:
    try:
        return contract.check_processing_path(path, what)
    except contract.ContractError as error:
        raise ConfigurationError(str(error)) from None


class ProcessingInput:
    """Data a processing job reads: ``source`` (``s3://``, or a local path / ``file://`` locally or to
    upload) made available at ``destination``, a folder under ``/opt/ml/processing/``.

    ``s3_data_distribution_type='ShardedByS3Key'`` gives each instance its share of the objects
    under ``source``; ``'FullyReplicated'`` (default) gives each instance all of them.
    """

    def __init__(self, source: str | None = None, destination: str | None = None, input_name: str | None = None,
                 s3_data_type: str = "S3Prefix", s3_input_mode: str = "File",
                 s3_data_distribution_type: str = "FullyReplicated", s3_compression_type: str = "None",
                 app_managed: bool = False) -> None:
        if not source or not isinstance(source, str):
            raise ConfigurationError("ProcessingInput needs source: an s3:// URI, or a local file or folder")
        _check_choice("s3_data_type", s3_data_type, contract.PROCESSING_DATA_TYPES)
        _check_choice("s3_input_mode", s3_input_mode, contract.PROCESSING_INPUT_MODES)
        _check_choice("s3_data_distribution_type", s3_data_distribution_type, contract.S3_DATA_DISTRIBUTIONS)
        _check_choice("s3_compression_type", s3_compression_type, contract.COMPRESSION_TYPES)
        if input_name is not None and not contract.valid_channel_name(input_name):
            raise ConfigurationError(f"input_name {input_name!r} is not valid; use 1 to 64 letters, digits, '.', "
                                     f"'-' and '_'")
        self.source = source
        self.destination = _container_path(destination, "ProcessingInput destination")
        self.input_name = input_name
        self.s3_data_type = s3_data_type
        self.s3_input_mode = s3_input_mode
        self.s3_data_distribution_type = s3_data_distribution_type
        self.s3_compression_type = s3_compression_type
        self.app_managed = app_managed

    def _to_request_dict(self) -> Request:
        """The ``ProcessingInputs`` entry (``InputName``, ``AppManaged``, ``S3Input``)."""
        return {"InputName": self.input_name, "AppManaged": self.app_managed,
                "S3Input": {"S3Uri": self.source, "LocalPath": self.destination, "S3DataType": self.s3_data_type,
                            "S3InputMode": self.s3_input_mode,
                            "S3DataDistributionType": self.s3_data_distribution_type,
                            "S3CompressionType": self.s3_compression_type}}

    @classmethod
    def _from_request_dict(cls, entry: Mapping[str, Any]) -> ProcessingInput:
        s3 = entry.get("S3Input") or {}
        return cls(s3.get("S3Uri"), s3.get("LocalPath"), entry.get("InputName"),
                   s3_data_type=s3.get("S3DataType", "S3Prefix"), s3_input_mode=s3.get("S3InputMode", "File"),
                   s3_data_distribution_type=s3.get("S3DataDistributionType", "FullyReplicated"),
                   s3_compression_type=s3.get("S3CompressionType", "None"),
                   app_managed=bool(entry.get("AppManaged", False)))

    def __repr__(self) -> str:
        return f"ProcessingInput({self.source!r}, {self.destination!r}, input_name={self.input_name!r})"


class ProcessingOutput:
    """What a processing job writes: the files under ``source`` (a folder under ``/opt/ml/processing/``)
    go to ``destination`` (``s3://``, or ``file://`` locally; default: the job's ``output/<name>``).

    ``s3_upload_mode='EndOfJob'`` (default) uploads when the job completes; ``'Continuous'`` uploads
    files as they are written while the job runs.
    """

    def __init__(self, source: str | None = None, destination: str | None = None, output_name: str | None = None,
                 s3_upload_mode: str = "EndOfJob", app_managed: bool = False) -> None:
        _check_choice("s3_upload_mode", s3_upload_mode, contract.UPLOAD_MODES)
        if output_name is not None and not contract.valid_channel_name(output_name):
            raise ConfigurationError(f"output_name {output_name!r} is not valid; use 1 to 64 letters, digits, '.', "
                                     f"'-' and '_'")
        self.source = _container_path(source, "ProcessingOutput source")
        self.destination = destination
        self.output_name = output_name
        self.s3_upload_mode = s3_upload_mode
        self.app_managed = app_managed

    def _to_request_dict(self) -> Request:
        """The ``ProcessingOutputConfig.Outputs`` entry (``OutputName``, ``AppManaged``, ``S3Output``)."""
        return {"OutputName": self.output_name, "AppManaged": self.app_managed,
                "S3Output": {"S3Uri": self.destination, "LocalPath": self.source,
                             "S3UploadMode": self.s3_upload_mode}}

    @classmethod
    def _from_request_dict(cls, entry: Mapping[str, Any]) -> ProcessingOutput:
        s3 = entry.get("S3Output") or {}
        return cls(s3.get("LocalPath"), s3.get("S3Uri"), entry.get("OutputName"),
                   s3_upload_mode=s3.get("S3UploadMode", "EndOfJob"), app_managed=bool(entry.get("AppManaged", False)))

    def __repr__(self) -> str:
        return f"ProcessingOutput({self.source!r}, {self.destination!r}, output_name={self.output_name!r})"


class Processor:
    """Run any image as a processing job: its ``ENTRYPOINT``, or ``entrypoint`` (a list: the program and
    its first arguments) when given, with ``run(arguments=...)`` after it.

    ``Processor(role, image_uri, instance_count, instance_type, entrypoint=None, volume_size_in_gb=30,
    volume_kms_key=None, output_kms_key=None, max_runtime_in_seconds=None, base_job_name=None,
    sagemaker_session=None, env=None, tags=None, network_config=None)``; ``network_config`` is the
    request's ``NetworkConfig`` (a dict, or an object with ``_to_request_dict()``).
    """

    def __init__(self, role: str | None = None, image_uri: str | None = None, instance_count: int | None = None,
                 instance_type: str | None = None, entrypoint: Sequence[str] | None = None,
                 volume_size_in_gb: int = 30, volume_kms_key: str | None = None, output_kms_key: str | None = None,
                 max_runtime_in_seconds: int | None = None, base_job_name: str | None = None,
                 sagemaker_session: Session | None = None, env: Mapping[str, str] | None = None,
                 tags: Tags | None = None, network_config: Any = None) -> None:
        if not image_uri:
            raise ConfigurationError("image_uri is required: the processing image to run")
        if not instance_type:
            raise ConfigurationError("instance_type is required: an ML instance type such as 'ml.m5.xlarge', "
                                     "or 'local' to run on this machine")
        if not isinstance(instance_count, int) or isinstance(instance_count, bool) or instance_count < 1:
            raise ConfigurationError(f"instance_count must be a positive integer, got {instance_count!r}")
        if entrypoint is not None and (isinstance(entrypoint, str) or not all(isinstance(a, str) for a in entrypoint)):
            raise ConfigurationError(f"entrypoint must be a list of strings (the program and its first arguments), "
                                     f"e.g. ['python3', '/opt/program/process.py'], got {entrypoint!r}")
        if max_runtime_in_seconds is not None and (not isinstance(max_runtime_in_seconds, int)
                                                   or max_runtime_in_seconds < 1):
            raise ConfigurationError(f"max_runtime_in_seconds must be a positive integer, got {max_runtime_in_seconds!r}")
        self.sagemaker_session = resolve_session(sagemaker_session, instance_type)
        self.local_mode = bool(self.sagemaker_session.local_mode)
        check_role(role, self.sagemaker_session)
        self.role = role
        self.image_uri = image_uri
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.entrypoint = list(entrypoint) if entrypoint is not None else None
        self.volume_size_in_gb = volume_size_in_gb
        self.volume_kms_key = volume_kms_key
        self.output_kms_key = output_kms_key
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.base_job_name = base_job_name
        self.env = {str(key): str(value) for key, value in (env or {}).items()}
        self.tags = format_tags(tags)
        self.network_config = network_config
        self.arguments: list[str] | None = None
        self.jobs: list[ProcessingJob] = []
        self.latest_job: ProcessingJob | None = None
        self._current_job_name: str | None = None

    def run(self, inputs: Sequence[ProcessingInput] | None = None, outputs: Sequence[ProcessingOutput] | None = None,
            arguments: Sequence[str] | None = None, wait: bool = True, logs: bool = True, job_name: str | None = None,
            experiment_config: Mapping[str, str] | None = None, kms_key: str | None = None) -> None:
        """Start a processing job and, with ``wait``, follow it to the end (printing its logs with ``logs``).

        A failed job raises :class:`~framework_sdk.exceptions.UnexpectedStatusException` carrying its
        ``FailureReason`` (locally: the exit code, the script's traceback and the last log lines).
        """
        self._start(self._entrypoint(), inputs, outputs, arguments, wait, logs, job_name, experiment_config,
                    kms_key)

    # -------------------------------------------------------------- hooks and parts

    def _entrypoint(self) -> list[str] | None:
        return self.entrypoint

    def _base_name(self) -> str:
        return self.base_job_name or naming.base_name_from_image(self.image_uri)

    _code_input_names: tuple[str, ...] = ()  # the inputs _code_inputs adds

    def _code_inputs(self, job_name: str, kms_key: str | None) -> list[ProcessingInput]:
        """Inputs the processor adds (its code); none for a plain :class:`Processor`."""
        return []

    def _start(self, entrypoint: list[str] | None, inputs: Sequence[ProcessingInput] | None,
               outputs: Sequence[ProcessingOutput] | None, arguments: Sequence[str] | None, wait: bool, logs: bool,
               job_name: str | None, experiment_config: Mapping[str, str] | None, kms_key: str | None) -> None:
        if arguments is not None and (isinstance(arguments, str) or not all(isinstance(a, str) for a in arguments)):
            raise ConfigurationError(f"arguments must be a list of strings, e.g. ['--train-test-split', '0.2'], "
                                     f"got {arguments!r}")
        name = naming.validate(job_name, "job_name") if job_name else naming.name_from_base(self._base_name())
        self._current_job_name = name
        self.arguments = list(arguments) if arguments is not None else None
        user_inputs = self._normalize_inputs(inputs, name, kms_key)
        for item in user_inputs:
            if item.input_name in self._code_input_names:
                raise ConfigurationError(f"input name {item.input_name!r} is taken by this processor's code; "
                                         f"give your input another input_name")
        added = self._code_inputs(name, kms_key)
        normalized_outputs = self._normalize_outputs(outputs, name)
        request = self._request(name, entrypoint, user_inputs + added, normalized_outputs, experiment_config)
        self.sagemaker_session.sagemaker_client.create_processing_job(**request)
        self.latest_job = ProcessingJob(self.sagemaker_session, name, user_inputs + added, normalized_outputs,
                                        self.output_kms_key)
        self.jobs.append(self.latest_job)
        if wait:
            self.latest_job.wait(logs=logs)

    def _local_uri(self, path: str, what: str) -> str:
        if not os.path.exists(path):
            raise ConfigurationError(f"{what} {path!r} does not exist (looked in {os.getcwd()}); pass an existing "
                                     f"file or folder, or an s3:// URI")
        return "file://" + os.path.abspath(path)

    def _upload(self, path: str, job_name: str, name: str, kms_key: str | None) -> str:
        """Upload a local file or folder to ``s3://<bucket>/<job>/input/<name>``, as SageMaker v2 does."""
        session = self.sagemaker_session
        target = s3_uri(session.default_bucket(), job_name, "input", name)
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else None
        return session.upload_data(path, *parse_s3_uri(target), extra_args=extra)

    def _normalize_inputs(self, inputs: Sequence[ProcessingInput] | None, job_name: str,
                          kms_key: str | None) -> list[ProcessingInput]:
        normalized = []
        for number, item in enumerate(inputs or (), 1):
            if not isinstance(item, ProcessingInput):
                raise ConfigurationError(f"inputs must be ProcessingInput objects; item {number} is a "
                                         f"{type(item).__name__}")
            name = item.input_name or f"input-{number}"
            source = item.source
            if uri_scheme(source) in ("s3", "file"):
                source = check_uri(source, f"source of input {name!r}", self.local_mode)
                if uri_scheme(source) == "s3":
                    self._check_s3(f"input {name!r}", source)
            elif "://" in source:
                raise ConfigurationError(f"source of input {name!r} is {source!r}: pass an s3:// URI, a file:// URI "
                                         f"or a local path")
            elif self.local_mode:
                source = self._local_uri(source, f"source of input {name!r}")
            else:
                self._local_uri(source, f"source of input {name!r}")
                source = self._upload(source, job_name, name, kms_key)
            normalized.append(self._copy_input(item, source, name))
        duplicates = _duplicates([str(item.input_name) for item in normalized])
        if duplicates:
            raise ConfigurationError(f"input names must be unique; {duplicates} appear more than once")
        return normalized

    @staticmethod
    def _copy_input(item: ProcessingInput, source: str, name: str) -> ProcessingInput:
        return ProcessingInput(source, item.destination, name, s3_data_type=item.s3_data_type,
                               s3_input_mode=item.s3_input_mode,
                               s3_data_distribution_type=item.s3_data_distribution_type,
                               s3_compression_type=item.s3_compression_type, app_managed=item.app_managed)

    def _check_s3(self, what: str, uri: str) -> None:
        """In local mode, ``s3://`` locations need AWS credentials: say so before anything starts."""
        if self.local_mode:
            self.sagemaker_session.require_credentials(f"{what} {uri!r}")

    def _normalize_outputs(self, outputs: Sequence[ProcessingOutput] | None, job_name: str) -> list[ProcessingOutput]:
        normalized = []
        for number, item in enumerate(outputs or (), 1):
            if not isinstance(item, ProcessingOutput):
                raise ConfigurationError(f"outputs must be ProcessingOutput objects; item {number} is a "
                                         f"{type(item).__name__}")
            name = item.output_name or f"output-{number}"
            destination = item.destination
            if destination is None:
                base = self.sagemaker_session.default_output_path().rstrip("/")
                destination = f"{base}/{job_name}/output/{name}"
            elif uri_scheme(destination) in ("s3", "file"):
                check_uri(destination, f"destination of output {name!r}", self.local_mode)
            elif self.local_mode and "://" not in destination:
                destination = "file://" + os.path.abspath(destination)
            else:
                check_uri(destination, f"destination of output {name!r}", self.local_mode)
            if uri_scheme(destination) == "s3":
                self._check_s3(f"output {name!r}", destination)
            normalized.append(ProcessingOutput(item.source, destination, name, s3_upload_mode=item.s3_upload_mode,
                                               app_managed=item.app_managed))
        duplicates = _duplicates([str(item.output_name) for item in normalized])
        if duplicates:
            raise ConfigurationError(f"output names must be unique; {duplicates} appear more than once")
        return normalized

    def _request(self, job_name: str, entrypoint: list[str] | None, inputs: list[ProcessingInput],
                 outputs: list[ProcessingOutput], experiment_config: Mapping[str, str] | None) -> Request:
        cluster: Request = {"InstanceCount": self.instance_count, "InstanceType": self.instance_type,
                            "VolumeSizeInGB": self.volume_size_in_gb}
        if self.volume_kms_key:
            cluster["VolumeKmsKeyId"] = self.volume_kms_key
        application: Request = {"ImageUri": self.image_uri}
        if entrypoint:
            application["ContainerEntrypoint"] = list(entrypoint)
        if self.arguments:
            application["ContainerArguments"] = list(self.arguments)
        request: Request = {"ProcessingJobName": job_name, "ProcessingResources": {"ClusterConfig": cluster},
                            "AppSpecification": application}
        if inputs:
            request["ProcessingInputs"] = [item._to_request_dict() for item in inputs]
        if outputs:
            request["ProcessingOutputConfig"] = {"Outputs": [item._to_request_dict() for item in outputs]}
            if self.output_kms_key:
                request["ProcessingOutputConfig"]["KmsKeyId"] = self.output_kms_key
        if self.max_runtime_in_seconds:
            request["StoppingCondition"] = {"MaxRuntimeInSeconds": self.max_runtime_in_seconds}
        if self.role:
            request["RoleArn"] = self.role if self.local_mode else self.sagemaker_session.expand_role(self.role)
        if self.env:
            request["Environment"] = dict(self.env)
        if self.network_config is not None:
            to_dict = getattr(self.network_config, "_to_request_dict", None)
            request["NetworkConfig"] = to_dict() if callable(to_dict) else dict(self.network_config)
        if self.tags:
            request["Tags"] = self.tags
        if experiment_config:
            request["ExperimentConfig"] = dict(experiment_config)
        return request


class ScriptProcessor(Processor):
    """Run a script in an image: ``command`` (e.g. ``['python3']``) followed by the script.

    ``run(code, ...)``: ``code`` (a local file, or ``s3://``) becomes the input ``code`` at
    ``/opt/ml/processing/input/code/``; on AWS a local file is uploaded to
    ``s3://<bucket>/<job>/input/code/<file>``.
    """

    def __init__(self, role: str | None = None, image_uri: str | None = None,
                 command: Sequence[str] | None = None, instance_count: int | None = None,
                 instance_type: str | None = None, **kwargs: Any) -> None:
        if not command or isinstance(command, str) or not all(isinstance(part, str) for part in command):
            raise ConfigurationError(f"command must be a non-empty list of strings that runs the script, e.g. "
                                     f"['python3'], got {command!r}")
        self.command = list(command)
        self._code: str | None = None
        super().__init__(role=role, image_uri=image_uri, instance_count=instance_count, instance_type=instance_type,
                         **kwargs)

    def run(self, code: str | None = None, inputs: Sequence[ProcessingInput] | None = None,  # type: ignore[override]
            outputs: Sequence[ProcessingOutput] | None = None, arguments: Sequence[str] | None = None,
            wait: bool = True, logs: bool = True, job_name: str | None = None,
            experiment_config: Mapping[str, str] | None = None, kms_key: str | None = None) -> None:
        """Run ``code`` (the script) on ``inputs``, writing ``outputs``; ``arguments`` go after the script."""
        self._code = self._check_code(code)
        self._start(self._entrypoint(), inputs, outputs, arguments, wait, logs, job_name, experiment_config,
                    kms_key)

    @staticmethod
    def _check_code(code: str | None) -> str:
        if not code or not isinstance(code, str):
            raise ConfigurationError("code is required: the path of the script to run, e.g. 'preprocess.py'")
        if uri_scheme(code) == "s3":
            return code
        path = code[len("file://"):] if uri_scheme(code) == "file" else code
        if not os.path.isfile(path):
            raise ConfigurationError(f"code {code!r} is not a file (looked in {os.getcwd()}); pass the path of your "
                                     f"script, or an s3:// URI")
        return os.path.abspath(path)

    _code_input_names: tuple[str, ...] = (CODE_INPUT,)

    def _entrypoint(self) -> list[str]:
        assert self._code is not None  # run() set it
        return [*self.command, f"{CODE_DIR}/{os.path.basename(self._code)}"]

    def _code_inputs(self, job_name: str, kms_key: str | None) -> list[ProcessingInput]:
        assert self._code is not None
        if uri_scheme(self._code) == "s3":
            source = self._code
        elif self.local_mode:
            source = "file://" + self._code
        else:
            source = self._upload(self._code, job_name, CODE_INPUT, kms_key)
        return [ProcessingInput(source, CODE_DIR, CODE_INPUT)]


class FrameworkProcessor(ScriptProcessor):
    """Run a script with its ``source_dir`` (and ``requirements.txt``) in a framework's image.

    ``FrameworkProcessor(estimator_cls, framework_version, role, instance_count, instance_type,
    py_version='py3', image_uri=None, command=None, code_location=None, ...)``: the image is
    ``estimator_cls``'s framework image unless ``image_uri`` is given; ``command`` defaults to
    ``['python']``. ``run(code, source_dir=None, dependencies=None, ...)`` packs ``source_dir`` and
    ``dependencies`` into ``sourcedir.tar.gz`` as for training (uploaded once per content to
    ``<code_location or the default bucket>/<base_job_name>/source/<sha256[:16]>/``; used in place
    locally) and runs ``code`` (relative to ``source_dir``) after installing ``requirements.txt``.
    """

    def __init__(self, estimator_cls: type[Any], framework_version: str | None = None, role: str | None = None,
                 instance_count: int | None = None, instance_type: str | None = None, py_version: str = "py3",
                 image_uri: str | None = None, command: Sequence[str] | None = None,
                 code_location: str | None = None, **kwargs: Any) -> None:
        self.estimator_cls = estimator_cls
        self.framework_version = framework_version
        self.py_version = py_version
        self.code_location = code_location
        self._framework_name: str | None = getattr(estimator_cls, "_framework_name", None)
        if code_location is not None and uri_scheme(code_location) != "s3":
            raise ConfigurationError(f"code_location {code_location!r} must be an s3:// URI")
        if image_uri is None:
            if not self._framework_name:
                raise ConfigurationError(f"{getattr(estimator_cls, '__name__', estimator_cls)!r} names no framework "
                                         f"image: pass a framework estimator class (e.g. Chainer) or image_uri")
            if framework_version is None:
                raise ConfigurationError(
                    f"framework_version is required when image_uri is not given; supported {self._framework_name} "
                    f"versions: {', '.join(image_uris.supported_versions(self._framework_name))}")
            image_uris.validate(self._framework_name, framework_version, py_version)
        self._staging: list[tempfile.TemporaryDirectory[str]] = []
        self._entry_point = ""
        self._source_dir: str | None = None
        self._dependencies: list[str] = []
        super().__init__(role=role, image_uri=image_uri or "(resolved below)", command=command or ["python"],
                         instance_count=instance_count, instance_type=instance_type, **kwargs)
        if image_uri is None:
            self.image_uri = self._framework_image()

    def _framework_image(self) -> str:
        framework, version = self._framework_name, self.framework_version
        assert framework and version  # __init__ checked them
        if self.local_mode:
            return image_uris.retrieve(framework, version, self.py_version, self.instance_type)
        session = self.sagemaker_session
        return image_uris.retrieve(framework, version, self.py_version, self.instance_type,
                                   region=session.boto_region_name, account=session.account_id())

    def _base_name(self) -> str:
        if self.base_job_name:
            return self.base_job_name
        if self._framework_name:
            return naming.base_name_from_image(image_uris.repository(self._framework_name))
        return naming.base_name_from_image(self.image_uri)

    def run(self, code: str | None = None, source_dir: str | None = None,  # type: ignore[override]
            dependencies: Sequence[str] | None = None, git_config: Mapping[str, str] | None = None,
            inputs: Sequence[ProcessingInput] | None = None, outputs: Sequence[ProcessingOutput] | None = None,
            arguments: Sequence[str] | None = None, wait: bool = True, logs: bool = True,
            job_name: str | None = None, experiment_config: Mapping[str, str] | None = None,
            kms_key: str | None = None) -> None:
        """Run ``code`` from ``source_dir`` (with ``dependencies``) on ``inputs``, writing ``outputs``."""
        if git_config:
            raise ConfigurationError("git_config is not supported: clone the repository and pass its folder as "
                                     "source_dir")
        if not code or not isinstance(code, str):
            raise ConfigurationError("code is required: the script to run, relative to source_dir when given")
        self._code = resolve_entry_point(code, source_dir)  # its name in the code folder
        self._entry_point = code
        self._source_dir = source_dir
        self._dependencies = list(dependencies or [])
        check_dependencies(self._dependencies)
        self._start(self._entrypoint(), inputs, outputs, arguments, wait, logs, job_name, experiment_config,
                    kms_key)

    _code_input_names: tuple[str, ...] = (CODE_INPUT, ENTRYPOINT_INPUT)

    def _entrypoint(self) -> list[str]:
        return ["/bin/sh", f"{ENTRYPOINT_DIR}/{RUNNER_SCRIPT}"]

    def _runner(self) -> str:
        """The ``sh`` script that unpacks the code, installs its requirements and runs the script."""
        assert self._code is not None
        python = shlex.quote(self.command[0])
        run = " ".join(shlex.quote(part) for part in [*self.command, self._code])
        return RUNNER_TEMPLATE.format(code_dir=CODE_DIR[len(contract.BASE_DIR):], sourcedir=SOURCEDIR,
                                      python=python, run=run)

    def _code_inputs(self, job_name: str, kms_key: str | None) -> list[ProcessingInput]:
        assert self._code is not None
        runner = self._runner()
        if uri_scheme(self._source_dir) == "s3":
            code_uri = self._source_dir
        elif self.local_mode:
            folder, staging = local_code_dir(self._entry_point, self._source_dir, self._dependencies)
            code_uri = "file://" + folder
            if staging is not None:
                self._staging.append(staging)
        else:
            code_uri = self._upload_sourcedir()
        if self.local_mode:
            scratch = tempfile.TemporaryDirectory(prefix="framework-sdk-runner-")
            self._staging.append(scratch)
            path = os.path.join(scratch.name, RUNNER_SCRIPT)
            with open(path, "w") as file:
                file.write(runner)
            runner_uri = "file://" + path
        else:
            runner_uri = self._upload_runner(runner)
        assert code_uri is not None
        return [ProcessingInput(code_uri, CODE_DIR, CODE_INPUT),
                ProcessingInput(runner_uri, ENTRYPOINT_DIR, ENTRYPOINT_INPUT)]

    def _source_prefix(self) -> tuple[str, str]:
        if self.code_location:
            return parse_s3_uri(self.code_location)
        return self.sagemaker_session.default_bucket(), ""

    def _upload_sourcedir(self) -> str:
        bucket, prefix = self._source_prefix()
        with pack_sourcedir(self._entry_point, self._source_dir, self._dependencies) as archive:
            uri = s3_uri(bucket, prefix, self._base_name(), "source", archive.sha256[:16], SOURCEDIR)
            self.sagemaker_session.upload_if_changed(archive.path, uri, archive.sha256)
        return uri

    def _upload_runner(self, runner: str) -> str:
        bucket, prefix = self._source_prefix()
        digest = hashlib.sha256(runner.encode()).hexdigest()
        uri = s3_uri(bucket, prefix, self._base_name(), "source", digest[:16], RUNNER_SCRIPT)
        with tempfile.TemporaryDirectory(prefix="framework-sdk-runner-") as scratch:
            path = os.path.join(scratch, RUNNER_SCRIPT)
            with open(path, "w") as file:
                file.write(runner)
            self.sagemaker_session.upload_if_changed(path, uri, digest)
        return uri


# The runner of FrameworkProcessor. POSIX sh (no bash needed in the image); the tree is
# $SAGEMAKER_BASE_DIR when set (the process backend gives each host its own), else /opt/ml.
RUNNER_TEMPLATE = """#!/bin/sh
# Written by framework-sdk's FrameworkProcessor: unpack the job's code, install its
# requirements.txt, run the script with the job's arguments.
set -e
code="${{SAGEMAKER_BASE_DIR:-/opt/ml}}{code_dir}"
if [ -f "$code/{sourcedir}" ]; then
    unpacked="$(mktemp -d)"
    tar -xzf "$code/{sourcedir}" -C "$unpacked"
    code="$unpacked"
fi
cd "$code"
export PYTHONDONTWRITEBYTECODE=1
if [ -f requirements.txt ] && [ "${{FRAMEWORK_SDK_REQUIREMENTS_INSTALLED:-}}" != 1 ]; then
    {python} -m pip install -r requirements.txt
fi
exec {run} "$@"
"""


class ProcessingJob(StartedJob):
    """A started processing job: ``name``, ``inputs``, ``outputs`` (destinations resolved), ``describe()``,
    ``wait(logs=True)``, ``stop()``; :meth:`from_processing_name` attaches to an existing one."""

    def __init__(self, sagemaker_session: Session, job_name: str, inputs: Sequence[ProcessingInput],
                 outputs: Sequence[ProcessingOutput], output_kms_key: str | None = None) -> None:
        super().__init__(sagemaker_session, job_name)
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.output_kms_key = output_kms_key

    @classmethod
    def from_processing_name(cls, sagemaker_session: Session, processing_job_name: str) -> ProcessingJob:
        """The job named ``processing_job_name``, with its inputs and outputs as ``DescribeProcessingJob`` gives them."""
        description = sagemaker_session.describe_processing_job(processing_job_name)
        output_config = description.get("ProcessingOutputConfig") or {}
        return cls(sagemaker_session, processing_job_name,
                   [ProcessingInput._from_request_dict(item) for item in description.get("ProcessingInputs") or ()],
                   [ProcessingOutput._from_request_dict(item) for item in output_config.get("Outputs") or ()],
                   output_config.get("KmsKeyId"))

    @classmethod
    def from_processing_arn(cls, sagemaker_session: Session, processing_job_arn: str) -> ProcessingJob:
        """The job of ``arn:...:processing-job/<name>``."""
        return cls.from_processing_name(sagemaker_session, processing_job_arn.rsplit("/", 1)[-1])

    def describe(self) -> Response:
        return self.sagemaker_session.describe_processing_job(self.name)

    def wait(self, logs: bool = True) -> Response:
        """Block until the job ends (printing its logs with ``logs``); a failed job raises with its reason."""
        if logs:
            return self.sagemaker_session.logs_for_processing_job(self.name, wait=True)
        return self.sagemaker_session.wait_for_processing_job(self.name)

    def stop(self) -> None:
        self.sagemaker_session.sagemaker_client.stop_processing_job(ProcessingJobName=self.name)
