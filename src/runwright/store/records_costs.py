"""Rows of the cost ledger and of budget reservations (migration 0005)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from runwright.store.records import NO_ITEM

#: What a budget bounds: one run, one pipeline per day or in total, everything per day or in total.
Scope = Literal["run", "pipeline_day", "pipeline", "day", "total"]
#: ``held`` until the call ends; then ``settled`` (actual cost), ``released`` (the call failed
#: before spending), ``lost`` (its process died mid-call: charged at the reserved worst case);
#: ``denied`` marks a refusal, which stops the run's spending until it is resumed
#: (``dismissed`` then).
ReservationState = Literal["held", "settled", "released", "lost", "denied", "dismissed"]
#: States whose ``usd`` counts against budgets.
SPENDING_STATES: tuple[str, ...] = ("held", "settled", "lost")


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    """One budget that bounds a call: its scope, its limit in USD, and where it was set."""

    scope: Scope
    usd: float
    #: Where the user set it, for messages: ``budget.usd in the spec``, ``[budgets] daily_usd``…
    source: str


@dataclass(frozen=True, slots=True)
class Hold:
    """A reservation to make before one call: its worst-case cost and who makes it."""

    id: str
    run_id: str
    pipeline: str
    #: UTC date (``YYYY-MM-DD``) the call is counted on.
    day: str
    attempt_id: int | None
    step_id: str
    item: int
    provider: str
    model: str
    usd: float
    ts: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a reservation was refused: the budget it would pass, or an earlier stop."""

    limit: BudgetLimit | None
    #: What the scope had spent and held already.
    spent: float
    #: The worst-case cost that did not fit.
    wanted: float
    #: Set when the run was already stopped by a budget (the earlier refusal's reason).
    stopped: str | None = None


@dataclass(frozen=True, slots=True)
class CostEntry:
    """One call's actual tokens and cost (``usd`` None: unknown price)."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int
    usd: float | None
    attempt: int


@dataclass(frozen=True, slots=True)
class CostRecord:
    """One row of the cost ledger."""

    id: int
    run_id: str
    pipeline: str
    step_id: str
    item: int
    attempt: int
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    usd: float | None
    day: str
    ts: float

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "step_id": self.step_id,
            "item": None if self.item == NO_ITEM else self.item,
            "attempt": self.attempt,
            "provider": self.provider,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": self.usd,
            "day": self.day,
            "ts": self.ts,
        }


@dataclass(frozen=True, slots=True)
class ReservationRecord:
    """One budget reservation as stored."""

    id: str
    run_id: str
    pipeline: str
    day: str
    attempt_id: int | None
    step_id: str | None
    provider: str
    model: str
    usd: float | None
    reserved_usd: float
    state: ReservationState
    reason: str | None
