"""What a step's exception means: its message, whether to retry, what to log.

Kept apart from the attempt's execution so the classification is one small table:
a timeout and plain exceptions are retryable, a :class:`FatalStepError` and other
:class:`RunwrightError` are not, a :class:`StepError` says for itself.
"""

from __future__ import annotations

from typing import Any

from runwright.engine.commit import attempt_event
from runwright.errors import FatalStepError, RunwrightError, StepError, StepTimeout
from runwright.events import Event, EventType, Level
from runwright.redaction import Redactor
from runwright.store.records import AttemptRecord

#: Characters of stdout/stderr quoted in a failure's step.log event (masked before cut).
_TAIL = 2000


class Failure(Exception):
    """A step's failure, classified: its message, retryability and logged output."""

    def __init__(self, message: str, *, retryable: bool, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.data = data or {}


def classify(exc: BaseException, timeout: float | None, redactor: Redactor) -> Failure:
    if isinstance(exc, TimeoutError):
        return Failure(
            str(StepTimeout(f"step exceeded its timeout of {timeout:g}s")), retryable=True
        )
    data: dict[str, Any] = {}
    output = getattr(exc, "output", None)
    if isinstance(output, dict):
        # Masked whole, then cut: a cut inside a secret must not keep its last characters.
        data = {
            k: redactor.redact(str(v))[-_TAIL:]
            for k, v in output.items()
            if k in ("stderr", "stdout")
        }
        if "exit_code" in output:
            data["exit_code"] = output["exit_code"]
    if isinstance(exc, FatalStepError):
        return Failure(str(exc), retryable=False, data=data)
    if isinstance(exc, StepError):
        return Failure(str(exc), retryable=exc.retryable, data=data)
    if isinstance(exc, RunwrightError):
        return Failure(str(exc), retryable=False, data=data)
    return Failure(f"{type(exc).__name__}: {exc}", retryable=True, data=data)


def failure_events(a: AttemptRecord, failure: Failure) -> list[Event]:
    if not failure.data:
        return []
    return [attempt_event(a, EventType.STEP_LOG, failure.data, Level.WARNING)]
