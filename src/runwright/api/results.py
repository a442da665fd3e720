"""Values the API returns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runwright.states import RunStatus
from runwright.store.records import AttemptRecord, ItemCounts, RunRecord

if TYPE_CHECKING:
    from runwright.api.costs import CostLine


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a call that executed a run left it."""

    run_id: str
    status: RunStatus
    error: str | None = None
    #: For resume: what ran again, by reason.
    reopened: dict[str, list[str]] = field(default_factory=dict)
    waiting_for: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "status": str(self.status),
            "error": self.error,
        }
        if self.reopened:
            data["reopened"] = self.reopened
        if self.waiting_for:
            data["waiting_for"] = self.waiting_for
        return data


@dataclass(frozen=True, slots=True)
class StepSummary:
    step_id: str
    state: str
    attempts: int
    items: int
    items_done: int
    error: str | None
    started_at: float | None
    finished_at: float | None
    #: for_each items whose result came from the cache.
    items_cached: int = 0
    #: A one-line preview of the committed output (None: no output).
    output: str | None = None
    #: Whether an attempt left a traceback in the logs (`runwright logs RUN STEP`).
    traceback: bool = False
    #: The step's model calls and their cost (None: it made none).
    cost: CostLine | None = None

    @property
    def cached(self) -> bool:
        """The step's result came from the cache (for a for_each step: every item's)."""
        return self.state == "cached" or (self.items > 0 and self.items_cached == self.items)

    def to_json(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "state": self.state,
            "cached": self.cached,
            "attempts": self.attempts,
            "items": self.items,
            "items_done": self.items_done,
            "items_cached": self.items_cached,
            "error": self.error,
            "traceback": self.traceback,
            "output_summary": self.output,
            "cost_usd": None if self.cost is None else self.cost.to_json()["cost_usd"],
            "cost": None if self.cost is None else self.cost.to_json(),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


@dataclass(frozen=True, slots=True)
class RunDetails:
    run: RunRecord
    steps: list[StepSummary]
    #: The attempts of the steps themselves; for_each items are counted in ``steps``
    #: (all attempts, items too, page through ``Store.iter_attempts``).
    attempts: list[AttemptRecord]
    counts: dict[str, int]
    #: Every model call of the run and their cost (None: it made none).
    cost: CostLine | None = None

    def to_json(self) -> dict[str, Any]:
        """The run and its steps; ``attempts`` is the caller's to add (it may be long)."""
        return {
            **self.run.to_json(),
            "counts": self.counts,
            "cost_usd": None if self.cost is None else self.cost.to_json()["cost_usd"],
            "cost": None if self.cost is None else self.cost.to_json(),
            "steps": [s.to_json() for s in self.steps],
        }


def summarise(
    run: RunRecord,
    nodes: list[AttemptRecord],
    items: Mapping[str, ItemCounts],
    order: list[str],
    *,
    outputs: dict[str, str] | None = None,
    tracebacks: set[str] | frozenset[str] = frozenset(),
    costs: Mapping[str, CostLine] | None = None,
    total_cost: CostLine | None = None,
) -> RunDetails:
    """Fold the steps' attempts and their items' counts into one line per step (spec order)."""
    outputs = outputs or {}
    costs = costs or {}
    by_step: dict[str, list[AttemptRecord]] = {}
    for a in nodes:
        by_step.setdefault(a.step_id, []).append(a)
    steps = []
    for step_id in order + sorted((set(by_step) | set(items)) - set(order)):
        rows = by_step.get(step_id, [])
        current = next((a for a in reversed(rows) if not a.superseded), None)
        counted = items.get(step_id, ItemCounts(0, 0, 0))
        steps.append(
            StepSummary(
                step_id,
                str(current.state) if current else "pending",
                len(rows),
                counted.items,
                counted.done,
                current.error if current else None,
                min((a.started_at for a in rows if a.started_at), default=None),
                current.finished_at if current else None,
                counted.cached,
                outputs.get(step_id),
                step_id in tracebacks,
                costs.get(step_id),
            )
        )
    counts = Counter(s.state for s in steps)
    return RunDetails(run, steps, nodes, dict(counts), total_cost)
