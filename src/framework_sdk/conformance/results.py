"""The conformance check's results: the four statuses, :class:`CheckResult`, the table, the error that stops it."""
import dataclasses

from framework_sdk.exceptions import ConfigurationError

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"


class ConformanceError(ConfigurationError):
    """The check cannot run at all (no engine, no such image, no script); the message says what to do."""


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One check: ``name`` (``"train: ..."`` / ``"serve: ..."``), ``status`` and a ``detail`` sentence."""

    name: str
    status: str
    detail: str = ""


def passed(results):
    """True when no check failed (warnings and skips allowed)."""
    return all(result.status != FAIL for result in results)


def format_table(results):
    """The results as a plain-text table, then a one-line summary."""
    width = max([len(result.name) for result in results] + [5])
    lines = [f"{'STATUS':6}  {'CHECK':{width}}  DETAIL"]
    for result in results:
        lines.append(f"{result.status.upper():6}  {result.name:{width}}  {result.detail}")
    counts = {status: sum(result.status == status for result in results) for status in (PASS, WARN, FAIL, SKIP)}
    lines.append(", ".join(f"{count} {status}" for status, count in counts.items() if count) or "no checks")
    return "\n".join(lines)
