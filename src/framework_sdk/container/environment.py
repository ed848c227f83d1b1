"""The training environment: the ``/opt/ml`` tree read into one plain value, and its ``SM_*`` export.

``Environment.from_files()`` reads ``<base>/input/config/*.json`` (base is ``/opt/ml`` or
``SAGEMAKER_BASE_DIR``); ``Environment.from_dict()`` builds the same value from plain data
(tests, tools). ``to_env_vars()`` gives exactly the names the SageMaker toolkits export and
``to_cmd_args()`` the user's hyperparameters as an argv list.

:class:`Environment` is public (``framework_sdk.container.Environment``). A framework extends it by
subclassing, never by copying: add properties derived from the fields (``from_files``,
``from_dict`` and :meth:`~Environment.with_framework_defaults` return the subclass), and override
``training_env()`` / ``to_env_vars()`` calling ``super()`` to export them::

    class MyEnvironment(Environment):
        @property
        def world_size(self):
            return len(self.hosts) * max(self.num_gpus, 1)

        def to_env_vars(self):
            return {**super().to_env_vars(), "SM_WORLD_SIZE": str(self.world_size)}
"""
import json
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

from framework_sdk.container.errors import ConfigurationError

DEFAULT_BASE_DIR = "/opt/ml"
BASE_DIR_ENV = "SAGEMAKER_BASE_DIR"
FRAMEWORK_PREFIX = "sagemaker_"
DEFAULT_HOST = "algo-1"
HOMOGENEOUS_GROUP = "homogeneousCluster"
DISTRIBUTION_FLAGS = ("sagemaker_mpi_enabled", "sagemaker_parameter_server_enabled",
                      "sagemaker_distributed_dataparallel_enabled", "sagemaker_pytorch_ddp_enabled",
                      "sagemaker_multi_worker_mirrored_strategy_enabled")

# Framework parameters the toolkit itself understands; the other ``sagemaker_*`` keys are
# "additional" ones (SM_FRAMEWORK_PARAMS), as in the SageMaker toolkits.
TOOLKIT_PARAMS = frozenset({
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_region",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_s3_output",
})


def decode_hyperparameters(raw):
    """JSON-decode every string value that parses (``"3"`` -> 3, ``"true"`` -> True); keep the rest as is."""
    decoded = {}
    for name, value in raw.items():
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        decoded[name] = value
    return decoded


def to_cmd_args(hyperparameters):
    """``{"epochs": 3, "flag": True, "sizes": [1, 2]}`` -> ``["--epochs", "3", "--flag", "True", "--sizes", "[1, 2]"]``.

    Keys are sorted; one-letter keys get a single dash. Values: strings as they are, booleans
    ``True``/``False`` (as the SageMaker toolkits pass them), lists as JSON, dicts as
    ``k1=v1,k2=v2``, ``None`` as an empty string. Every item is one argv entry: no shell quoting.
    """
    argv = []
    for name in sorted(hyperparameters):
        argv.append(f"-{name}" if len(name) == 1 else f"--{name}")
        argv.append(_arg_value(hyperparameters[name]))
    return argv


def _arg_value(value):
    if value is None:
        return ""
    if isinstance(value, dict):
        return ",".join(f"{key}={_arg_value(item)}" for key, item in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return str(value)


def env_value(value):
    """One environment value: strings as they are, ``None`` empty, anything else compact sorted JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def count_gpus():
    """Number of NVIDIA GPUs visible (``nvidia-smi --list-gpus``), 0 when there is no driver."""
    if not shutil.which("nvidia-smi"):
        return 0
    try:
        listed = subprocess.run(["nvidia-smi", "--list-gpus"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU ")) if listed.returncode == 0 else 0


def count_cpus():
    """CPUs this process may run on (honours CPU affinity / cpusets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def base_dir_from_env(environ=None):
    environ = os.environ if environ is None else environ
    return Path(environ.get(BASE_DIR_ENV) or DEFAULT_BASE_DIR)


@dataclass(frozen=True)
class Environment:
    """Everything a training job knows about itself. A plain value: build it with :meth:`from_dict`.

    ``hyperparameters`` are the user's (decoded, no ``sagemaker_*`` keys); ``framework_params`` are
    the ``sagemaker_*`` ones, with a framework's defaults already merged under the user's values.
    """

    base_dir: Path
    hyperparameters: dict
    framework_params: dict
    resource_config: dict
    input_data_config: dict
    num_gpus: int = 0
    num_cpus: int = 1
    program: str = ""
    submit_directory: str = ""
    framework_module: str = ""
    extra: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dict(cls, data):
        """Build from plain data: ``hyperparameters`` (raw strings or values, ``sagemaker_*`` keys
        included), ``resource_config``, ``input_data_config``, and optionally ``base_dir``,
        ``num_gpus``, ``num_cpus``, ``program``, ``submit_directory``, ``framework_module``.
        """
        unknown = set(data) - {"hyperparameters", "resource_config", "input_data_config", "base_dir",
                               "num_gpus", "num_cpus", "program", "submit_directory", "framework_module"}
        if unknown:
            raise ConfigurationError(f"Environment.from_dict: unknown keys {sorted(unknown)}")
        decoded = decode_hyperparameters(data.get("hyperparameters") or {})
        user = {k: v for k, v in decoded.items() if not k.startswith(FRAMEWORK_PREFIX)}
        framework = {k: v for k, v in decoded.items() if k.startswith(FRAMEWORK_PREFIX)}
        resource_config = dict(data.get("resource_config") or {"current_host": DEFAULT_HOST, "hosts": [DEFAULT_HOST]})
        _check_resource_config(resource_config, "resource_config")
        return cls(
            base_dir=Path(data.get("base_dir") or DEFAULT_BASE_DIR),
            hyperparameters=user,
            framework_params=framework,
            resource_config=resource_config,
            input_data_config=dict(data.get("input_data_config") or {}),
            num_gpus=int(data.get("num_gpus", 0)),
            num_cpus=int(data.get("num_cpus", 1)),
            program=str(data.get("program") or framework.get("sagemaker_program") or ""),
            submit_directory=str(data.get("submit_directory") or framework.get("sagemaker_submit_directory") or ""),
            framework_module=str(data.get("framework_module") or ""),
        )

    @classmethod
    def from_files(cls, base_dir=None, environ=None):
        """Read ``<base>/input/config/{hyperparameters,resourceconfig,inputdataconfig}.json``.

        ``base_dir`` defaults to ``SAGEMAKER_BASE_DIR`` or ``/opt/ml``. A missing hyperparameters or
        input-data file means none; a missing resource config means one host, ``algo-1``.
        ``SAGEMAKER_PROGRAM`` / ``SAGEMAKER_SUBMIT_DIRECTORY`` apply when the hyperparameters name none.
        """
        environ = os.environ if environ is None else environ
        base = Path(base_dir) if base_dir else base_dir_from_env(environ)
        config = base / "input" / "config"
        hyperparameters = _read_json(config / "hyperparameters.json", {})
        for name, value in hyperparameters.items():
            if not isinstance(value, str):
                hyperparameters[name] = json.dumps(value)  # tolerate unencoded values
        resource_config = _read_json(config / "resourceconfig.json", None)
        if resource_config is not None:
            _check_resource_config(resource_config, config / "resourceconfig.json")
        input_data_config = _read_json(config / "inputdataconfig.json", {})
        environment = cls.from_dict({
            "hyperparameters": hyperparameters,
            "resource_config": resource_config,
            "input_data_config": input_data_config,
            "base_dir": base,
            "num_gpus": count_gpus(),
            "num_cpus": count_cpus(),
            "framework_module": environ.get("FRAMEWORK_SDK_FRAMEWORK", ""),
        })
        program = environment.program or environ.get("SAGEMAKER_PROGRAM", "")
        submit = environment.submit_directory or environ.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
        return replace(environment, program=program, submit_directory=submit)

    def with_framework_defaults(self, defaults):
        """A copy whose framework parameters take ``defaults`` where the user gave no value."""
        return replace(self, framework_params={**defaults, **self.framework_params})

    # ------------------------------------------------------------------ the tree

    @property
    def input_dir(self):
        return self.base_dir / "input"

    @property
    def input_config_dir(self):
        return self.base_dir / "input" / "config"

    @property
    def input_data_dir(self):
        return self.base_dir / "input" / "data"

    @property
    def model_dir(self):
        return self.base_dir / "model"

    @property
    def output_dir(self):
        return self.base_dir / "output"

    @property
    def output_data_dir(self):
        return self.base_dir / "output" / "data"

    @property
    def output_intermediate_dir(self):
        return self.base_dir / "output" / "intermediate"

    @property
    def code_dir(self):
        """Where downloaded user code goes (``/opt/ml/code``), and the default code location."""
        return self.base_dir / "code"

    @property
    def channel_dirs(self):
        """``{"train": Path(".../input/data/train"), ...}`` for every channel in inputdataconfig.json."""
        return {name: self.input_data_dir / name for name in sorted(self.input_data_config)}

    # ------------------------------------------------------------------ hosts

    @property
    def hosts(self):
        return sorted(self.resource_config["hosts"])

    @property
    def current_host(self):
        return self.resource_config["current_host"]

    @property
    def master_host(self):
        return self.hosts[0]

    @property
    def is_master(self):
        return self.current_host == self.master_host

    @property
    def network_interface_name(self):
        return self.resource_config.get("network_interface_name", "eth0")

    @property
    def current_instance_type(self):
        return self.resource_config.get("current_instance_type", "local")

    @property
    def current_instance_group(self):
        """The instance group of this host (``current_group_name``; one group: ``homogeneousCluster``)."""
        return self.resource_config.get("current_group_name", HOMOGENEOUS_GROUP)

    @property
    def instance_groups_dict(self):
        """``{group name: {"instance_group_name", "instance_type", "hosts"}}`` from the resource config."""
        return {group["instance_group_name"]: group for group in self.resource_config.get("instance_groups") or []
                if isinstance(group, dict) and "instance_group_name" in group}

    @property
    def instance_groups(self):
        return list(self.instance_groups_dict)

    @property
    def current_instance_group_hosts(self):
        return list(self.instance_groups_dict.get(self.current_instance_group, {}).get("hosts", []))

    @property
    def distribution_instance_groups(self):
        """The groups a distributed strategy runs on (``sagemaker_distribution_instance_groups``, else this
        host's group when MPI or another distribution is enabled), as in the sagemaker-training toolkit."""
        given = self.framework_params.get("sagemaker_distribution_instance_groups")
        if given is not None:
            return list(given)
        enabled = self.use_mpi or any(_truthy(self.framework_params.get(name, False)) for name in DISTRIBUTION_FLAGS)
        return [self.current_instance_group] if enabled else []

    @property
    def is_hetero(self):
        return len(self.instance_groups) > 1

    # ------------------------------------------------------------------ framework parameters

    @property
    def additional_framework_params(self):
        """The ``sagemaker_*`` parameters other than the toolkit's own (``SM_FRAMEWORK_PARAMS``)."""
        return {k: v for k, v in self.framework_params.items() if k not in TOOLKIT_PARAMS}

    @property
    def user_entry_point(self):
        return self.program

    @property
    def module_name(self):
        """The entry point without ``.py`` (``train.py`` -> ``train``)."""
        return self.program[:-3] if self.program.endswith(".py") else self.program

    @property
    def module_dir(self):
        """Where the code comes from: ``sagemaker_submit_directory`` as given, else the code folder."""
        return self.submit_directory or str(self.code_dir)

    @property
    def log_level(self):
        level = self.framework_params.get("sagemaker_container_log_level", logging.INFO)
        return level if isinstance(level, int) else logging.getLevelName(str(level).upper())

    @property
    def job_name(self):
        return str(self.framework_params.get("sagemaker_job_name") or os.environ.get("TRAINING_JOB_NAME", ""))

    @property
    def region(self):
        return self.framework_params.get("sagemaker_region") or None

    @property
    def use_mpi(self):
        return _truthy(self.framework_params.get("sagemaker_use_mpi", False))

    @property
    def process_slots_per_host(self):
        return int(self.framework_params.get("sagemaker_process_slots_per_host") or self.num_gpus or 1)

    @property
    def num_processes(self):
        return int(self.framework_params.get("sagemaker_num_processes") or
                   self.process_slots_per_host * len(self.hosts))

    @property
    def additional_mpi_options(self):
        return str(self.framework_params.get("sagemaker_additional_mpi_options") or "")

    # ------------------------------------------------------------------ export

    def to_cmd_args(self):
        """The user's hyperparameters as argv (see :func:`to_cmd_args`)."""
        return to_cmd_args(self.hyperparameters)

    def training_env(self):
        """The whole environment as a dict (``SM_TRAINING_ENV``), with the SageMaker toolkit's key names."""
        return {
            "additional_framework_parameters": self.additional_framework_params,
            "channel_input_dirs": {name: str(path) for name, path in self.channel_dirs.items()},
            "current_host": self.current_host,
            "current_instance_group": self.current_instance_group,
            "current_instance_group_hosts": self.current_instance_group_hosts,
            "current_instance_type": self.current_instance_type,
            "distribution_instance_groups": self.distribution_instance_groups,
            "framework_module": self.framework_module,
            "hosts": self.hosts,
            "hyperparameters": self.hyperparameters,
            "input_config_dir": str(self.input_config_dir),
            "input_data_config": self.input_data_config,
            "input_dir": str(self.input_dir),
            "instance_groups": self.instance_groups,
            "instance_groups_dict": self.instance_groups_dict,
            "is_hetero": self.is_hetero,
            "is_master": self.is_master,
            "job_name": self.job_name,
            "log_level": self.log_level,
            "master_hostname": self.master_host,
            "model_dir": str(self.model_dir),
            "module_dir": self.module_dir,
            "module_name": self.module_name,
            "network_interface_name": self.network_interface_name,
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "output_data_dir": str(self.output_data_dir),
            "output_dir": str(self.output_dir),
            "output_intermediate_dir": str(self.output_intermediate_dir),
            "resource_config": self.resource_config,
            "user_entry_point": self.user_entry_point,
        }

    def to_env_vars(self):
        """The ``SM_*`` variables the user's script sees, with the SageMaker toolkits' names and encoding."""
        values = {
            "MODEL_DIR": str(self.model_dir),
            "CHANNELS": sorted(self.input_data_config),
            "HPS": self.hyperparameters,
            "USER_ARGS": self.to_cmd_args(),
            "HOSTS": self.hosts,
            "CURRENT_HOST": self.current_host,
            "CURRENT_INSTANCE_TYPE": self.current_instance_type,
            "CURRENT_INSTANCE_GROUP": self.current_instance_group,
            "CURRENT_INSTANCE_GROUP_HOSTS": self.current_instance_group_hosts,
            "INSTANCE_GROUPS": self.instance_groups,
            "INSTANCE_GROUPS_DICT": self.instance_groups_dict,
            "DISTRIBUTION_INSTANCE_GROUPS": self.distribution_instance_groups,
            "IS_HETERO": self.is_hetero,
            "MASTER_ADDR": self.master_host,
            "IS_MASTER": self.is_master,
            "NETWORK_INTERFACE_NAME": self.network_interface_name,
            "NUM_GPUS": self.num_gpus,
            "NUM_CPUS": self.num_cpus,
            "LOG_LEVEL": self.log_level,
            "INPUT_DIR": str(self.input_dir),
            "INPUT_CONFIG_DIR": str(self.input_config_dir),
            "OUTPUT_DIR": str(self.output_dir),
            "OUTPUT_DATA_DIR": str(self.output_data_dir),
            "OUTPUT_INTERMEDIATE_DIR": str(self.output_intermediate_dir),
            "MODULE_NAME": self.module_name,
            "MODULE_DIR": self.module_dir,
            "USER_ENTRY_POINT": self.user_entry_point,
            "FRAMEWORK_MODULE": self.framework_module,
            "FRAMEWORK_PARAMS": self.additional_framework_params,
            "RESOURCE_CONFIG": self.resource_config,
            "INPUT_DATA_CONFIG": self.input_data_config,
            "TRAINING_ENV": self.training_env(),
        }
        for name, path in self.channel_dirs.items():
            values[f"CHANNEL_{name.upper()}"] = str(path)
        for name, value in self.hyperparameters.items():
            values[f"HP_{name.upper()}"] = value
        return {f"SM_{name}": env_value(value) for name, value in values.items()}

    # ------------------------------------------------------------------ checks

    def check_channels(self):
        """Raise :class:`ConfigurationError` naming each declared File-mode channel whose folder is missing."""
        missing = [name for name, path in self.channel_dirs.items() if not path.is_dir()
                   and (self.input_data_config.get(name) or {}).get("TrainingInputMode") != "Pipe"]
        if missing:
            raise ConfigurationError(
                f"channel(s) {missing} are declared in {self.input_config_dir / 'inputdataconfig.json'} "
                f"but their folders under {self.input_data_dir} do not exist; put the data at "
                f"{self.input_data_dir}/<channel>/ or remove the channel from the job's inputs")


def _truthy(value):
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _read_json(path, default):
    try:
        text = path.read_text()
    except FileNotFoundError:
        return default
    except OSError as error:
        raise ConfigurationError(f"cannot read {path}: {error.strerror}; check the file's permissions") from None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ConfigurationError(
            f"{path} is not valid JSON ({error}); it must hold one JSON object, e.g. "
            f'{{"epochs": "10"}} for hyperparameters (every value a string)') from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{path} must hold a JSON object, found {type(value).__name__}")
    return value


def _check_resource_config(config, where):
    hosts = config.get("hosts")
    current = config.get("current_host")
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) and h for h in hosts):
        raise ConfigurationError(f'{where}: "hosts" must be a non-empty list of host names, e.g. ["algo-1"]')
    if current not in hosts:
        raise ConfigurationError(f'{where}: "current_host" {current!r} is not one of "hosts" {hosts}')
    if not all(re.fullmatch(r"[A-Za-z0-9._-]+", h) for h in hosts):
        raise ConfigurationError(f'{where}: host names may hold only letters, digits, ".", "_" and "-": {hosts}')
