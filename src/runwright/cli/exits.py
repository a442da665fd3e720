"""Exit codes: one table for every command."""

from __future__ import annotations

from runwright.states import RunStatus

OK = 0
RUN_FAILED = 1
USAGE = 2  # also invalid specs and inputs (RunwrightError.exit_code)
WAITING = 10
CANCELLED = 11
INTERRUPTED = 130
INTERNAL = 70

BY_STATUS = {
    RunStatus.SUCCEEDED: OK,
    RunStatus.FAILED: RUN_FAILED,
    RunStatus.WAITING: WAITING,
    RunStatus.CANCELLED: CANCELLED,
    RunStatus.RUNNING: OK,  # --detach: enqueued
    RunStatus.PENDING: OK,
}
