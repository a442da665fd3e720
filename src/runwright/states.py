"""Run and attempt states, and the one place their transitions are validated."""

from __future__ import annotations

from enum import StrEnum

from runwright.errors import IllegalTransition


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in _RUN_FINAL


class AttemptState(StrEnum):
    PENDING = "pending"  # waiting for its needs
    READY = "ready"  # claimable (possibly after not_before)
    LEASED = "leased"  # claimed by a worker, not yet acting
    RUNNING = "running"  # acting; for_each parents run while their items do
    WAITING = "waiting"  # an approval: holds no worker slot
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CACHED = "cached"
    CANCELLED = "cancelled"  # stopped by cancel before committing
    ABANDONED = "abandoned"  # in flight when its process died or its lease expired

    @property
    def finished(self) -> bool:
        return self in _ATTEMPT_FINAL

    @property
    def done_ok(self) -> bool:
        """Whether dependents may use this attempt's output."""
        return self in (AttemptState.SUCCEEDED, AttemptState.CACHED)


_RUN_FINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})
_ATTEMPT_FINAL = frozenset(
    {
        AttemptState.SUCCEEDED,
        AttemptState.FAILED,
        AttemptState.SKIPPED,
        AttemptState.CACHED,
        AttemptState.CANCELLED,
        AttemptState.ABANDONED,
    }
)

_A = AttemptState
_INTERRUPTIBLE = {_A.CANCELLED, _A.ABANDONED}
ATTEMPT_TRANSITIONS: dict[AttemptState, frozenset[AttemptState]] = {
    _A.PENDING: frozenset({_A.READY, _A.SKIPPED, _A.CANCELLED}),
    _A.READY: frozenset({_A.LEASED, _A.SKIPPED} | _INTERRUPTIBLE),
    _A.LEASED: frozenset({_A.RUNNING, _A.SKIPPED, _A.CACHED, _A.FAILED} | _INTERRUPTIBLE),
    _A.RUNNING: frozenset({_A.SUCCEEDED, _A.FAILED, _A.WAITING} | _INTERRUPTIBLE),
    _A.WAITING: frozenset({_A.SUCCEEDED, _A.FAILED, _A.CANCELLED}),
}

_R = RunStatus
RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    _R.PENDING: frozenset({_R.RUNNING, _R.CANCELLED, _R.FAILED}),
    _R.RUNNING: frozenset({_R.WAITING, _R.SUCCEEDED, _R.FAILED, _R.CANCELLED, _R.RUNNING}),
    _R.WAITING: frozenset({_R.RUNNING, _R.SUCCEEDED, _R.FAILED, _R.CANCELLED, _R.WAITING}),
    # Resume: failed and cancelled runs may run again.
    _R.FAILED: frozenset({_R.RUNNING}),
    _R.CANCELLED: frozenset({_R.RUNNING}),
    _R.SUCCEEDED: frozenset(),
}


def check_attempt(old: AttemptState, new: AttemptState) -> AttemptState:
    """Return ``new`` if ``old -> new`` is legal, else raise :class:`IllegalTransition`."""
    if new not in ATTEMPT_TRANSITIONS.get(old, frozenset()):
        raise IllegalTransition(f"illegal attempt transition {old} -> {new}")
    return new


def check_run(old: RunStatus, new: RunStatus) -> RunStatus:
    """Return ``new`` if ``old -> new`` is legal, else raise :class:`IllegalTransition`."""
    if new not in RUN_TRANSITIONS.get(old, frozenset()):
        raise IllegalTransition(f"illegal run transition {old} -> {new}")
    return new
