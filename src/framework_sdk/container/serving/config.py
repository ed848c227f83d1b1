"""The model server's settings, read once from SageMaker's environment variables."""
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from framework_sdk import codecs
from framework_sdk.container.errors import ConfigurationError

STRATEGIES = ("MULTI_RECORD", "SINGLE_RECORD")
_MB = 1024 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """Everything the supervisor, the workers and the app need to know (see :meth:`from_env`)."""

    base_dir: Path = Path("/opt/ml")
    host: str = "0.0.0.0"
    port: int = 8080
    workers: int = 1
    timeout: float = 60.0
    max_payload_mb: float = 6.0
    program: Optional[str] = None
    submit_directory: Optional[str] = None
    log_level: int = 20
    default_accept: str = codecs.JSON
    batch: bool = False
    batch_strategy: str = "MULTI_RECORD"
    max_concurrent_transforms: int = 1
    predictor_class: Optional[str] = None
    inference_config: dict = field(default_factory=dict)

    @property
    def model_dir(self):
        return self.base_dir / "model"

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
        batch = _boolean(env, "SAGEMAKER_BATCH", False)
        concurrent = _integer(env, "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", None, minimum=1)
        workers = _integer(env, "SAGEMAKER_MODEL_SERVER_WORKERS", None, minimum=1)
        if workers is None:
            workers = min(cpus, concurrent) if batch and concurrent else cpus
        strategy = _strategy(env.get("SAGEMAKER_BATCH_STRATEGY", ""))
        if strategy not in STRATEGIES:
            raise ConfigurationError(f"SAGEMAKER_BATCH_STRATEGY={env['SAGEMAKER_BATCH_STRATEGY']!r} is not one of "
                              f"{', '.join(STRATEGIES)}")
        accept = env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "").strip() or codecs.JSON
        if codecs.media_type(accept) not in codecs.SUPPORTED:
            raise ConfigurationError(f"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT={accept!r} is not one of "
                              f"{', '.join(codecs.SUPPORTED)}")
        return cls(
            base_dir=Path(env.get("SAGEMAKER_BASE_DIR") or "/opt/ml"),
            host=env.get("FRAMEWORK_SDK_BIND_HOST", "").strip() or "0.0.0.0",
            port=_integer(env, "SAGEMAKER_BIND_TO_PORT", 8080, minimum=0, maximum=65535),
            workers=workers,
            timeout=_number(env, "SAGEMAKER_MODEL_SERVER_TIMEOUT", 60.0),
            max_payload_mb=_number(env, "SAGEMAKER_MAX_PAYLOAD_IN_MB", 6.0),
            program=env.get("SAGEMAKER_PROGRAM", "").strip() or None,
            submit_directory=env.get("SAGEMAKER_SUBMIT_DIRECTORY", "").strip() or None,
            log_level=_log_level(env.get("SAGEMAKER_CONTAINER_LOG_LEVEL", "")),
            default_accept=codecs.media_type(accept),
            batch=batch,
            batch_strategy=strategy,
            max_concurrent_transforms=concurrent or workers,
            predictor_class=env.get("FRAMEWORK_SDK_PREDICTOR_CLASS", "").strip() or None,
            inference_config=_json_object(env, "INFERENCE_CONFIG"),
        )


def _strategy(text):
    """``MULTI_RECORD`` as SageMaker's containers get it, or the API's ``MultiRecord`` / ``multi-record``."""
    text = text.strip() or "MULTI_RECORD"
    folded = text.upper().replace("-", "_")
    return {"MULTIRECORD": "MULTI_RECORD", "SINGLERECORD": "SINGLE_RECORD"}.get(folded, folded)


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
        raise ConfigurationError(f"SAGEMAKER_CONTAINER_LOG_LEVEL={text!r} is not a log level "
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
