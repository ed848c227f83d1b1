"""Resource names SageMaker accepts: a base plus a millisecond timestamp, at most 63 characters.

SageMaker names match ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``: letters, digits and hyphens,
starting and ending with a letter or digit.
"""
from __future__ import annotations

import re
import time

from .exceptions import ConfigurationError

MAX_LENGTH = 63
_VALID = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_IMAGE = re.compile(r"^(?:.+/)?([^:/@]+)(?::[^:/]+)?(?:@.+)?$")


def timestamp(now: float | None = None) -> str:
    """``2026-11-22-02-03-51-123``: UTC, to the millisecond (23 characters)."""
    now = time.time() if now is None else now
    millis = int(now * 1000) % 1000
    return time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now)) + f"-{millis:03d}"


def sanitize(base: str | None) -> str:
    """Make ``base`` a valid name stem: other characters become ``-``, ends are trimmed."""
    cleaned = re.sub(r"[^a-zA-Z0-9-]+", "-", base or "").strip("-")
    return cleaned or "job"


def name_from_base(base: str | None, max_length: int = MAX_LENGTH, now: float | None = None) -> str:
    """``<base>-<timestamp>``, the base shortened so the whole name fits ``max_length``."""
    stamp = timestamp(now)
    stem = sanitize(base)[: max_length - len(stamp) - 1].rstrip("-") or "job"
    return f"{stem}-{stamp}"


def base_name_from_image(image_uri: str | None) -> str:
    """The repository part of an image: ``123.dkr.ecr.../framework-sdk-chainer:7.8.1`` -> ``framework-sdk-chainer``."""
    match = _IMAGE.match(image_uri or "")
    return sanitize(match.group(1) if match else image_uri)


def base_from_name(name: str) -> str:
    """Undo :func:`name_from_base`: ``my-job-2026-11-22-02-03-51-123`` -> ``my-job``."""
    match = re.match(r"^(.+)-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}$", name or "")
    return match.group(1) if match else name


def validate(name: object, what: str = "name") -> str:
    """Raise ``ConfigurationError`` unless ``name`` is a valid SageMaker resource name."""
    if not isinstance(name, str) or not _VALID.match(name):
        raise ConfigurationError(
            f"{what} {name!r} is not valid for SageMaker: use 1 to 63 letters, digits and hyphens, "
            f"starting and ending with a letter or digit")
    return name
