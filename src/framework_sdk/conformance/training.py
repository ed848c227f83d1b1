"""The ``train`` checks' verdicts: what one run showed, and a bad-input run judged against the valid one."""
import dataclasses
from typing import Optional

from framework_sdk.conformance.results import FAIL, PASS, SKIP, CheckResult

FIX_VALID_FIRST = "training fails on valid input too: fix that first"

TRAIN_VALID = "train: exits 0 on valid input"
TRAIN_MODEL = "train: writes the model to /opt/ml/model"


@dataclasses.dataclass(frozen=True)
class _TrainingOutcome:
    """What one ``train`` run showed: its exit code (None: never ended) and ``/opt/ml/output/failure``."""

    exit_code: Optional[int]
    failure: Optional[str] = None
    start_error: Optional[str] = None  # the engine could not start the command at all

    @property
    def succeeded(self):
        return self.exit_code == 0

    @property
    def reason(self):
        """The first and last lines of ``output/failure`` (a summary, then the error a traceback ends with)."""
        if not self.failure:
            return None
        lines = [line.strip() for line in self.failure.splitlines() if line.strip()]
        first, last = lines[0][:120], lines[-1][:120]
        return first if len(lines) == 1 else f"{first} ... {last}"

    def describe(self, timeout):
        if self.start_error:
            return f"could not start: {self.start_error}"
        if self.exit_code is None:
            return f"still running after {timeout} s; killed"
        return f"exit code {self.exit_code}" + (f", output/failure {self.reason!r}" if self.failure else "")


def _judge_bad_training(what, valid, bad, timeout):
    """The two checks of one bad-input run (``what``: "an empty channel"), judged against the valid run.

    Exiting 0 on bad input fails whatever the valid run did. Any other verdict needs the
    valid run to have exited 0: a failure then differs from it (exit code, and an
    ``output/failure`` text the valid run did not leave); without that the failure proves
    nothing and both checks are skipped.
    """
    fails, explains = f"train: fails on {what}", f"train: writes output/failure on {what}"
    if bad.exit_code == 0:
        wrote = f", though it wrote {bad.reason!r} to output/failure" if bad.failure else " and no output/failure"
        return [CheckResult(fails, FAIL, f"exit code 0 on {what}: SageMaker would mark the job Completed with a "
                                          "useless model; exit non-zero on bad input"),
                CheckResult(explains, FAIL, f"exit code 0{wrote}: SageMaker reports no FailureReason for a "
                                            "Completed job; write the reason there, then exit non-zero")]
    if not valid.succeeded:
        reason = f"{FIX_VALID_FIRST} ({valid.describe(timeout)})"
        return [CheckResult(fails, SKIP, reason), CheckResult(explains, SKIP, reason)]
    if bad.exit_code is None:
        return [CheckResult(fails, FAIL, f"{bad.describe(timeout)} on {what}, while valid data took exit code 0: "
                                         "fail fast on bad input"),
                CheckResult(explains, SKIP, "the run never ended, so nothing was reported")]
    if bad.start_error:
        return [CheckResult(fails, FAIL, bad.describe(timeout)), CheckResult(explains, SKIP, "the run never started")]
    verdict = CheckResult(fails, PASS, f"exit code {bad.exit_code} on {what} while exiting 0 on valid data")
    if not bad.failure:
        return [verdict, CheckResult(explains, FAIL, "no /opt/ml/output/failure: SageMaker's FailureReason would be "
                                                     "empty; write the reason there before exiting")]
    if bad.failure == valid.failure:
        return [verdict, CheckResult(explains, FAIL, f"{bad.reason!r} is what the successful run left too: it does "
                                                     f"not explain {what}; write this failure's own reason")]
    return [verdict, CheckResult(explains, PASS, f"{bad.reason!r} (exit code {bad.exit_code}), a reason the "
                                                 "successful run did not give")]
