"""The model server's settings, read once from SageMaker's environment variables."""
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from framework_sdk import codecs, contract
from framework_sdk.container.errors import ConfigurationError

STRATEGIES = contract.SERVER_BATCH_STRATEGIES
_MB = 1024 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """Everything the supervisor, the workers and the app need to know (see :meth:`from_env`)."""

    base_dir: Path = Path(contract.BASE_DIR)
    host: str = contract.DEFAULT_BIND_HOST
    port: int = contract.DEFAULT_PORT
    workers: int = 1
    timeout: float = contract.DEFAULT_MODEL_SERVER_TIMEOUT
    max_payload_mb: float = float(contract.DEFAULT_MAX_PAYLOAD_MB)
    program: Optional[str] = None
    submit_directory: Optional[str] = None
    log_level: int = 20
    default_accept: str = codecs.JSON
    batch: bool = False
    batch_strategy: str = contract.SERVER_MULTI_RECORD
    max_concurrent_transforms: int = 1
    predictor_class: Optional[str] = None
    inference_config: dict = field(default_factory=dict)

    @property
    def layout(self):
        """The tree the server reads (:class:`framework_sdk.contract.Layout`) at ``base_dir``."""
        return contract.Layout(self.base_dir)

    @property
    def model_dir(self):
        return self.layout.model_dir

    @property
    def max_payload_bytes(self):
        return int(self.max_payload_mb * _MB)

    def execution_parameters(self):
        """The body of ``GET /execution-parameters`` (what SageMaker batch transform asks for)."""
        return {
            "MaxConcurrentTransforms": self.max_concurrent_transforms,
            "BatchStrategy": self.batch_strategy,
            "MaxPayloadInMB": int(self.max_payload_mb) if float(self.max_payload_mb).is_integer()
            else self.max_payload_mb,
        }

    @classmethod
    def from_env(cls, environ=None):
        """Read ``SAGEMAKER_*`` variables; raise :class:`ConfigurationError` naming any bad value."""
        env = os.environ if environ is None else environ
        cpus = _cpu_count()
        batch = _boolean(env, contract.BATCH_ENV, False)
        concurrent = _integer(env, contract.MAX_CONCURRENT_TRANSFORMS_ENV, None, minimum=1)
        workers = _integer(env, contract.MODEL_SERVER_WORKERS_ENV, None, minimum=1)
        if workers is None:
            workers = min(cpus, concurrent) if batch and concurrent else cpus
        # MULTI_RECORD as SageMaker's containers get it, or the API's MultiRecord / multi-record
        strategy = contract.server_batch_strategy(env.get(contract.BATCH_STRATEGY_ENV, ""))
        if strategy not in STRATEGIES:
            raise ConfigurationError(f"{contract.BATCH_STRATEGY_ENV}={env[contract.BATCH_STRATEGY_ENV]!r} is not "
                                     f"one of {', '.join(STRATEGIES)}")
        accept = env.get(contract.DEFAULT_ACCEPT_ENV, "").strip() or codecs.JSON
        if codecs.media_type(accept) not in codecs.SUPPORTED:
            raise ConfigurationError(f"{contract.DEFAULT_ACCEPT_ENV}={accept!r} is not one of "
                                     f"{', '.join(codecs.SUPPORTED)}")
        return cls(
            base_dir=contract.Layout.from_env(env).base,
            host=env.get(contract.BIND_HOST_ENV, "").strip() or contract.DEFAULT_BIND_HOST,
            port=_integer(env, contract.BIND_TO_PORT_ENV, contract.DEFAULT_PORT, minimum=0, maximum=65535),
            workers=workers,
            timeout=_number(env, contract.MODEL_SERVER_TIMEOUT_ENV, contract.DEFAULT_MODEL_SERVER_TIMEOUT),
            max_payload_mb=_number(env, contract.MAX_PAYLOAD_ENV, float(contract.DEFAULT_MAX_PAYLOAD_MB)),
            program=env.get(contract.PROGRAM_ENV, "").strip() or None,
            submit_directory=env.get(contract.SUBMIT_DIRECTORY_ENV, "").strip() or None,
            log_level=_log_level(env.get(contract.LOG_LEVEL_ENV, "")),
            default_accept=codecs.media_type(accept),
            batch=batch,
            batch_strategy=strategy,
            max_concurrent_transforms=concurrent or workers,
            predictor_class=env.get(contract.PREDICTOR_CLASS_ENV, "").strip() or None,
            inference_config=_json_object(env, contract.INFERENCE_CONFIG_ENV),
        )


def _cpu_count():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _integer(env, name, default, minimum=None, maximum=None):
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a whole number") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ConfigurationError(f"{name}={value} must be {bounds}")
    return value


def _number(env, name, default):
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a number") from None
    if not value > 0:
        raise ConfigurationError(f"{name}={text} must be greater than 0")
    return value


def _boolean(env, name, default):
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name}={env[name]!r} is not true or false")


def _log_level(text):
    """SageMaker sends numbers (``20``); names (``info``, ``DEBUG``) work too."""
    text = text.strip()
    if not text:
        return 20
    if text.isdigit():
        return int(text)
    import logging

    level = logging.getLevelName(text.upper())
    if not isinstance(level, int):
        raise ConfigurationError(f"{contract.LOG_LEVEL_ENV}={text!r} is not a log level "
                                 "(use a number such as 20, or DEBUG, INFO, WARNING, ERROR)")
    return level


def _json_object(env, name):
    text = env.get(name, "").strip()
    if not text:
        return {}
    import json

    try:
        value = json.loads(text)
    except ValueError as error:
        raise ConfigurationError(f"{name} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{name} must be a JSON object, got {type(value).__name__}")
    return value
