"""The SageMaker container contract as code: the one place that names it.

Both halves import this module: the client and the local engine to prepare a job (an
``/opt/ml`` tree, its config files, environment variables, an HTTP endpoint), the container
toolkit and the conformance check to honour and test it. It holds constants and pure
functions over paths and plain data; it imports only the standard library and nothing of
ours, so it costs nothing to import and runs anywhere (an image, a process, a test).

SageMaker's own spellings are kept exactly: changing one here changes the contract. The few
names framework-sdk adds between its own engine and its own toolkit (``FRAMEWORK_SDK_*``) are
marked as such.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Union

PathLike = Union[str, "os.PathLike[str]"]

# ---------------------------------------------------------------------------- the tree
BASE_DIR = "/opt/ml"
BASE_DIR_ENV = "SAGEMAKER_BASE_DIR"  # a tree elsewhere (the process backend gives each host its own)

HYPERPARAMETERS_FILE = "hyperparameters.json"
RESOURCE_CONFIG_FILE = "resourceconfig.json"
INPUT_DATA_CONFIG_FILE = "inputdataconfig.json"
FAILURE_FILE = "failure"
SUCCESS_FILE = "success"
MODEL_ARCHIVE = "model.tar.gz"
OUTPUT_ARCHIVE = "output.tar.gz"
SOURCE_ARCHIVE = "sourcedir.tar.gz"
INFERENCE_CODE_DIR = "code"  # inside the model folder: the inference script and its requirements
DEFAULT_CHECKPOINT_DIR = f"{BASE_DIR}/checkpoints"
# processing jobs: inputs and outputs under processing/, the job's config under config/
PROCESSING_DIR = f"{BASE_DIR}/processing"
PROCESSING_JOB_CONFIG_FILE = "processingjobconfig.json"
EXIT_MESSAGE_FILE = "message"  # output/message: the first KB becomes DescribeProcessingJob's ExitMessage
EXIT_MESSAGE_LIMIT = 1024


@dataclass(frozen=True)
class Layout:
    """The ``/opt/ml`` tree rooted at ``base`` (a host's own folder outside a container).

    ``Layout()`` is the tree as a container sees it; a path of it that the client sends to a
    container is spelled with ``.as_posix()`` (``Layout().inference_code_dir.as_posix()``).
    """

    base: Path = Path(BASE_DIR)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Layout:
        """The tree at ``$SAGEMAKER_BASE_DIR``, else ``/opt/ml``."""
        environ = os.environ if environ is None else environ
        return cls(Path(environ.get(BASE_DIR_ENV) or BASE_DIR))

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", Path(self.base))

    @property
    def input_dir(self) -> Path:
        return self.base / "input"

    @property
    def input_config_dir(self) -> Path:
        return self.input_dir / "config"

    @property
    def input_data_dir(self) -> Path:
        return self.input_dir / "data"

    def channel_dir(self, channel: str) -> Path:
        return self.input_data_dir / channel

    @property
    def hyperparameters_file(self) -> Path:
        return self.input_config_dir / HYPERPARAMETERS_FILE

    @property
    def resource_config_file(self) -> Path:
        return self.input_config_dir / RESOURCE_CONFIG_FILE

    @property
    def input_data_config_file(self) -> Path:
        return self.input_config_dir / INPUT_DATA_CONFIG_FILE

    @property
    def model_dir(self) -> Path:
        return self.base / "model"

    @property
    def inference_code_dir(self) -> Path:
        return self.model_dir / INFERENCE_CODE_DIR

    @property
    def output_dir(self) -> Path:
        return self.base / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.output_dir / "data"

    @property
    def output_intermediate_dir(self) -> Path:
        return self.output_dir / "intermediate"

    @property
    def failure_file(self) -> Path:
        return self.output_dir / FAILURE_FILE

    @property
    def success_file(self) -> Path:
        return self.output_dir / SUCCESS_FILE

    @property
    def code_dir(self) -> Path:
        """Where downloaded user code goes, and the default code location."""
        return self.base / "code"

    @property
    def checkpoints_dir(self) -> Path:
        return self.base / "checkpoints"

    def relative(self, path: Path) -> str:
        """``path`` inside this tree, relative to its base and POSIX-spelled (``input/data/train``): the
        same name in a host's own tree and under ``/opt/ml``."""
        return path.relative_to(self.base).as_posix()

    @property
    def processing_dir(self) -> Path:
        return self.base / "processing"

    @property
    def config_dir(self) -> Path:
        """``config/``: where a processing job finds its configuration (training uses ``input/config``)."""
        return self.base / "config"

    @property
    def processing_job_config_file(self) -> Path:
        return self.config_dir / PROCESSING_JOB_CONFIG_FILE

    @property
    def processing_resource_config_file(self) -> Path:
        return self.config_dir / RESOURCE_CONFIG_FILE

    @property
    def exit_message_file(self) -> Path:
        return self.output_dir / EXIT_MESSAGE_FILE

    def local(self, container_path: str) -> Path:
        """Where ``container_path`` (a path under ``/opt/ml``) is in this tree; :class:`ContractError` otherwise."""
        relative = relative_to_base(container_path)
        if relative is None:
            raise ContractError(f"{container_path!r} is not under {BASE_DIR}")
        return self.base / relative if relative else self.base

    def create(self, channels: Iterable[str] = ()) -> Layout:
        """Make the folders a training job starts with (config, data per channel, model, output)."""
        for folder in (self.input_config_dir, self.model_dir, self.output_data_dir,
                       *(self.channel_dir(name) for name in channels)):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def relative_to_base(container_path: str) -> str | None:
    """``/opt/ml/processing/input`` -> ``processing/input``; ``/opt/ml`` -> ``''``; ``None`` outside ``/opt/ml``."""
    if container_path == BASE_DIR:
        return ""
    if not container_path.startswith(BASE_DIR + "/"):
        return None
    return container_path[len(BASE_DIR) + 1:].strip("/")


_UNDER_BASE = re.compile(r"(^|=)" + re.escape(BASE_DIR) + r"(?=/|$)")


def rebase(value: str, base: str) -> str:
    """``value`` with a leading ``/opt/ml`` (or one after ``=``, as in ``--input=/opt/ml/...``) moved to ``base``.

    What a host whose tree is not at ``/opt/ml`` (the process backend's) does to the paths a job's
    command line and environment name, so that ``--input-dir /opt/ml/processing/input`` reaches the
    host's own folder. Anything else is returned unchanged.
    """
    if base == BASE_DIR:
        return value
    return _UNDER_BASE.sub(lambda match: match.group(1) + base.rstrip("/"), value, count=1)


def check_processing_path(container_path: object, where: str) -> str:
    """``container_path`` when it is a folder under ``/opt/ml/processing/``; :class:`ContractError` naming the fix."""
    if (not isinstance(container_path, str) or not container_path.startswith(PROCESSING_DIR + "/")
            or any(part in ("", ".", "..") for part in container_path[len(PROCESSING_DIR) + 1:].rstrip("/").split("/"))):
        raise ContractError(
            f"{where} {container_path!r} is not a folder under {PROCESSING_DIR}/: SageMaker mounts processing "
            f"inputs and collects outputs only there, e.g. {PROCESSING_DIR}/input/data")
    return container_path.rstrip("/")


# ---------------------------------------------------------------------------- enumerations
# The single values code picks by name; the tuples are what the API accepts.
LOCAL = "local"
LOCAL_GPU = "local_gpu"
FILE_MODE = "File"
PIPE_MODE = "Pipe"
S3_PREFIX = "S3Prefix"
FULLY_REPLICATED = "FullyReplicated"
NONE = "None"  # SageMaker's value for no compression, record wrapping, split, assembly or join
LINE = "Line"
MULTI_RECORD = "MultiRecord"
SINGLE_RECORD = "SingleRecord"

LOCAL_INSTANCE_TYPES = (LOCAL, LOCAL_GPU)
INPUT_MODES = (FILE_MODE, PIPE_MODE, "FastFile")
PROCESSING_INPUT_MODES = (FILE_MODE, PIPE_MODE)  # a processing input's S3InputMode
PROCESSING_DATA_TYPES = (S3_PREFIX, "ManifestFile")  # a processing input's S3DataType
UPLOAD_MODES = ("EndOfJob", "Continuous")  # a processing output's S3UploadMode
S3_DATA_TYPES = (S3_PREFIX, "ManifestFile", "AugmentedManifestFile")
S3_DATA_DISTRIBUTIONS = (FULLY_REPLICATED, "ShardedByS3Key")
COMPRESSION_TYPES = (NONE, "Gzip")
RECORD_WRAPPINGS = (NONE, "RecordIO")
SPLIT_TYPES = (NONE, LINE, "RecordIO", "TFRecord")
ASSEMBLE_WITH = (NONE, LINE)
JOIN_SOURCES = (NONE, "Input")
BATCH_STRATEGIES = (MULTI_RECORD, SINGLE_RECORD)
# the model server's spelling of the batch strategies (SAGEMAKER_BATCH_STRATEGY), in the same order
SERVER_MULTI_RECORD = "MULTI_RECORD"
SERVER_SINGLE_RECORD = "SINGLE_RECORD"
SERVER_BATCH_STRATEGIES = (SERVER_MULTI_RECORD, SERVER_SINGLE_RECORD)
CHANNEL_NAME = re.compile(r"[A-Za-z0-9.\-_]{1,64}")  # SageMaker's ChannelName (ASCII only)
HOMOGENEOUS_GROUP = "homogeneousCluster"


def server_batch_strategy(strategy: str) -> str:
    """The model server's spelling of a batch strategy: ``MultiRecord`` (the API's), ``multi-record`` and
    ``MULTI_RECORD`` -> ``MULTI_RECORD``; empty -> the default, ``MULTI_RECORD``. Anything else comes back
    upper-cased, for the caller to refuse (it is not in :data:`SERVER_BATCH_STRATEGIES`)."""
    folded = (strategy.strip() or SERVER_BATCH_STRATEGIES[0]).upper().replace("-", "_")
    api_spellings = {api.upper(): server for api, server in zip(BATCH_STRATEGIES, SERVER_BATCH_STRATEGIES)}
    return api_spellings.get(folded, folded)


def is_local_instance_type(instance_type: str | None) -> bool:
    return instance_type in LOCAL_INSTANCE_TYPES


def valid_channel_name(name: object) -> bool:
    return isinstance(name, str) and CHANNEL_NAME.fullmatch(name) is not None


# ---------------------------------------------------------------------------- config files
class ContractError(ValueError):
    """A config file of the contract is unreadable or malformed; the message names it and the fix."""


DEFAULT_NETWORK_INTERFACE = "eth0"


def resource_config(current_host: str, hosts: Sequence[str], network_interface_name: str = DEFAULT_NETWORK_INTERFACE,
                    *, instance_type: str | None = None, **extra: Any) -> dict[str, Any]:
    """The ``resourceconfig.json`` of ``current_host`` among ``hosts`` (``extra`` keys kept as given).

    With ``instance_type`` it also holds the keys SageMaker writes for one homogeneous instance
    group: ``current_instance_type``, ``current_group_name`` and ``instance_groups``.
    """
    config: dict[str, Any] = {"current_host": current_host, "hosts": list(hosts),
                              "network_interface_name": network_interface_name}
    if instance_type is not None:
        config.update(current_group_name=HOMOGENEOUS_GROUP, current_instance_type=instance_type,
                      instance_groups=[{"instance_group_name": HOMOGENEOUS_GROUP, "hosts": list(hosts),
                                        "instance_type": instance_type}])
    config.update(extra)
    return config


def channel_config(content_type: str | None = None, input_mode: str = FILE_MODE, distribution: str = FULLY_REPLICATED,
                   record_wrapping: str = NONE, compression_type: str | None = None) -> dict[str, str]:
    """One channel's entry of ``inputdataconfig.json`` (``ContentType``, ``CompressionType`` only when given)."""
    entry = {"TrainingInputMode": input_mode, "S3DistributionType": distribution,
             "RecordWrapperType": record_wrapping}
    if content_type:
        entry["ContentType"] = content_type
    if compression_type:
        entry["CompressionType"] = compression_type
    return entry


def write_training_config(layout: Layout, hyperparameters: Mapping[str, Any], resource: Mapping[str, Any],
                          input_data: Mapping[str, Any]) -> None:
    """Write the three ``input/config`` files of a training job into ``layout``, values as given
    (SageMaker hands the container every hyperparameter as a string: encode them before)."""
    layout.input_config_dir.mkdir(parents=True, exist_ok=True)
    write_json(layout.hyperparameters_file, dict(hyperparameters))
    write_json(layout.resource_config_file, dict(resource))
    write_json(layout.input_data_config_file, dict(input_data))


class TrainingConfig(NamedTuple):
    """The three ``input/config`` files of a training job, as read by :func:`read_training_config`."""

    hyperparameters: dict[str, Any]
    resource: dict[str, Any] | None  # None: no resourceconfig.json (one host, algo-1)
    input_data: dict[str, Any]


def read_training_config(layout: Layout) -> TrainingConfig:
    """Read the ``input/config`` files of ``layout``. A missing hyperparameters or input-data file
    means none; a missing resource config is ``None``. Raises :class:`ContractError` for a file
    that cannot be read, is not one JSON object, or (the resource config) names no valid hosts."""
    hyperparameters = read_json_object(layout.hyperparameters_file, {})
    resource = read_json_object(layout.resource_config_file, None)
    if resource is not None:
        check_resource_config(resource, layout.resource_config_file)
    return TrainingConfig(hyperparameters, resource, read_json_object(layout.input_data_config_file, {}))


def write_processing_config(layout: Layout, job: Mapping[str, Any], resource: Mapping[str, Any]) -> None:
    """Write ``config/processingjobconfig.json`` (the job as ``CreateProcessingJob`` described it) and
    ``config/resourceconfig.json`` (``current_host``, ``hosts``) of a processing job into ``layout``."""
    layout.config_dir.mkdir(parents=True, exist_ok=True)
    write_json(layout.processing_job_config_file, dict(job))
    write_json(layout.processing_resource_config_file, dict(resource))


def read_exit_message(layout: Layout) -> str:
    """The first KB of ``output/message`` (a processing job's ``ExitMessage``), ``''`` when there is none."""
    try:
        with open(layout.exit_message_file, "rb") as file:
            return file.read(EXIT_MESSAGE_LIMIT).decode("utf-8", "replace")
    except OSError:
        return ""


def write_json(path: PathLike, value: Any) -> None:
    Path(path).write_text(json.dumps(value))


def read_json_object(path: PathLike, default: Any = None) -> Any:
    """The JSON object in ``path``, ``default`` when the file does not exist."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return default
    except OSError as error:
        raise ContractError(f"cannot read {path}: {error.strerror}; check the file's permissions") from None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ContractError(
            f"{path} is not valid JSON ({error}); it must hold one JSON object, e.g. "
            f'{{"epochs": "10"}} for hyperparameters (every value a string)') from None
    if not isinstance(value, dict):
        raise ContractError(f"{path} must hold a JSON object, found {type(value).__name__}")
    return value


# ---------------------------------------------------------------------------- hosts
HOST_NAME = re.compile(r"[A-Za-z0-9._-]+")


def host_name(index: int) -> str:
    """SageMaker's name of the ``index``-th host (from 1): ``algo-1``, ``algo-2``, ..."""
    return f"algo-{index}"


def host_names(count: int) -> list[str]:
    """The names of a job's ``count`` hosts: ``["algo-1", ..., "algo-<count>"]``."""
    return [host_name(index) for index in range(1, count + 1)]


DEFAULT_HOST = host_name(1)


def check_resource_config(config: Mapping[str, Any], where: object) -> None:
    """Raise :class:`ContractError` unless ``config`` names a current host among valid host names."""
    hosts = config.get("hosts")
    current = config.get("current_host")
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) and h for h in hosts):
        raise ContractError(f'{where}: "hosts" must be a non-empty list of host names, e.g. ["{DEFAULT_HOST}"]')
    if current not in hosts:
        raise ContractError(f'{where}: "current_host" {current!r} is not one of "hosts" {hosts}')
    if not all(HOST_NAME.fullmatch(h) for h in hosts):
        raise ContractError(f'{where}: host names may hold only letters, digits, ".", "_" and "-": {hosts}')


# ---------------------------------------------------------------------------- hyperparameters
FRAMEWORK_PARAM_PREFIX = "sagemaker_"
PROGRAM_PARAM = "sagemaker_program"
SUBMIT_DIRECTORY_PARAM = "sagemaker_submit_directory"
REGION_PARAM = "sagemaker_region"
LOG_LEVEL_PARAM = "sagemaker_container_log_level"
JOB_NAME_PARAM = "sagemaker_job_name"
CLOUDWATCH_METRICS_PARAM = "sagemaker_enable_cloudwatch_metrics"
S3_OUTPUT_PARAM = "sagemaker_s3_output"
USE_MPI_PARAM = "sagemaker_use_mpi"
MPI_ENABLED_PARAM = "sagemaker_mpi_enabled"
PROCESS_SLOTS_PARAM = "sagemaker_process_slots_per_host"
NUM_PROCESSES_PARAM = "sagemaker_num_processes"
MPI_OPTIONS_PARAM = "sagemaker_additional_mpi_options"
DISTRIBUTION_GROUPS_PARAM = "sagemaker_distribution_instance_groups"
# Any of these true turns on a distributed strategy (so distribution_instance_groups has the host's group).
DISTRIBUTION_ENABLED_PARAMS = (MPI_ENABLED_PARAM, "sagemaker_parameter_server_enabled",
                               "sagemaker_distributed_dataparallel_enabled", "sagemaker_pytorch_ddp_enabled",
                               "sagemaker_multi_worker_mirrored_strategy_enabled")
# The framework parameters the training toolkit itself understands; the other ``sagemaker_*`` keys
# are "additional" ones (SM_FRAMEWORK_PARAMS), as in SageMaker's toolkits.
TOOLKIT_PARAMS = frozenset({PROGRAM_PARAM, SUBMIT_DIRECTORY_PARAM, REGION_PARAM, LOG_LEVEL_PARAM, JOB_NAME_PARAM,
                            CLOUDWATCH_METRICS_PARAM, S3_OUTPUT_PARAM})


def is_framework_param(name: str) -> bool:
    """True for a framework parameter (``sagemaker_*``), False for the user's own hyperparameter."""
    return name.startswith(FRAMEWORK_PARAM_PREFIX)


# ---------------------------------------------------------------------------- environment
SM_PREFIX = "SM_"
TRAINING_JOB_NAME_ENV = "TRAINING_JOB_NAME"
PROGRAM_ENV = "SAGEMAKER_PROGRAM"
SUBMIT_DIRECTORY_ENV = "SAGEMAKER_SUBMIT_DIRECTORY"
REGION_ENV = "SAGEMAKER_REGION"
LOG_LEVEL_ENV = "SAGEMAKER_CONTAINER_LOG_LEVEL"
BIND_TO_PORT_ENV = "SAGEMAKER_BIND_TO_PORT"
SAFE_PORT_RANGE_ENV = "SAGEMAKER_SAFE_PORT_RANGE"
MODEL_SERVER_WORKERS_ENV = "SAGEMAKER_MODEL_SERVER_WORKERS"
MODEL_SERVER_TIMEOUT_ENV = "SAGEMAKER_MODEL_SERVER_TIMEOUT"
MAX_PAYLOAD_ENV = "SAGEMAKER_MAX_PAYLOAD_IN_MB"
BATCH_ENV = "SAGEMAKER_BATCH"
BATCH_STRATEGY_ENV = "SAGEMAKER_BATCH_STRATEGY"
MAX_CONCURRENT_TRANSFORMS_ENV = "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"
DEFAULT_ACCEPT_ENV = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
INFERENCE_CONFIG_ENV = "INFERENCE_CONFIG"  # JSON: the keyword arguments of a predictor class (gluonts' name)
DEFAULT_PORT = 8080
DEFAULT_BIND_HOST = "0.0.0.0"
DEFAULT_MODEL_SERVER_TIMEOUT = 60.0  # seconds
DEFAULT_MAX_PAYLOAD_MB = 6  # SageMaker's invocation limit, and MaxPayloadInMB's default

# framework-sdk's own names, between its engine (or check) and its toolkit
FRAMEWORK_ENV = "FRAMEWORK_SDK_FRAMEWORK"  # the framework whose defaults and serving functions the toolkit uses
LOCAL_HOSTS_ENV = "FRAMEWORK_SDK_LOCAL_HOSTS"  # "1": every host of the job runs on this machine (process backend)
REQUIREMENTS_INSTALLED_ENV = "FRAMEWORK_SDK_REQUIREMENTS_INSTALLED"  # "1": the code's requirements.txt is installed
BIND_HOST_ENV = "FRAMEWORK_SDK_BIND_HOST"  # the address the model server binds (default 0.0.0.0)
PREDICTOR_CLASS_ENV = "FRAMEWORK_SDK_PREDICTOR_CLASS"  # package.module.Class the model server answers with
CHECKPOINT_DIR_ENV = "FRAMEWORK_SDK_CHECKPOINT_DIR"  # where a host's checkpoints are (checkpoint_local_path)

# The SM_* variables every training script sees (beside SM_CHANNEL_<NAME> and SM_HP_<NAME>).
TRAINING_ENV_NAMES = tuple(SM_PREFIX + name for name in (
    "MODEL_DIR", "CHANNELS", "HPS", "USER_ARGS", "HOSTS", "CURRENT_HOST", "CURRENT_INSTANCE_TYPE",
    "CURRENT_INSTANCE_GROUP", "CURRENT_INSTANCE_GROUP_HOSTS", "INSTANCE_GROUPS", "INSTANCE_GROUPS_DICT",
    "DISTRIBUTION_INSTANCE_GROUPS", "IS_HETERO", "MASTER_ADDR", "IS_MASTER", "NETWORK_INTERFACE_NAME",
    "NUM_GPUS", "NUM_CPUS", "LOG_LEVEL", "INPUT_DIR", "INPUT_CONFIG_DIR", "OUTPUT_DIR", "OUTPUT_DATA_DIR",
    "OUTPUT_INTERMEDIATE_DIR", "MODULE_NAME", "MODULE_DIR", "USER_ENTRY_POINT", "FRAMEWORK_MODULE",
    "FRAMEWORK_PARAMS", "RESOURCE_CONFIG", "INPUT_DATA_CONFIG", "TRAINING_ENV"))


def sm_name(name: str) -> str:
    """``model_dir`` -> ``SM_MODEL_DIR``; ``channel_train`` -> ``SM_CHANNEL_TRAIN``."""
    return SM_PREFIX + name.upper()


def channel_env(channel: str) -> str:
    return sm_name(f"channel_{channel}")


def hyperparameter_env(name: str) -> str:
    return sm_name(f"hp_{name}")


# ---------------------------------------------------------------------------- the container
TRAIN = "train"
SERVE = "serve"
COMMANDS = (TRAIN, SERVE)
PROCESS = "process"  # a processing job's host: it runs ContainerEntrypoint + ContainerArguments, not a command
PING = "/ping"
INVOCATIONS = "/invocations"
EXECUTION_PARAMETERS = "/execution-parameters"
BIND_TO_PORT_LABEL = "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"

# content types (codecs implements them; the model server and the client negotiate with them)
NPY = "application/x-npy"
JSON = "application/json"
CSV = "text/csv"
JSONLINES = "application/jsonlines"
CONTENT_TYPES = (NPY, JSON, CSV, JSONLINES)
OCTET_STREAM = "application/octet-stream"  # a body of no declared type
MODEL_CONTENT_TYPE = "application/x-sagemaker-model"  # the channel of a model to start from (model_uri)
