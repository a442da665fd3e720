"""What was spent: the cost ledger summed by step, model, provider or day.

An unknown price stays unknown: a group with such calls reports how many, and
its ``usd`` is only what is known (``None`` when nothing is), never $0 for them.
Calls lost in a crash are charged at their reserved worst case (``lost_usd``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from runwright.store.base import Store
from runwright.store.records import NO_ITEM
from runwright.store.records_costs import CostRecord, ReservationRecord

GroupBy = Literal["step", "model", "provider", "day", "run"]
GROUPINGS: tuple[str, ...] = ("step", "model", "provider", "day", "run")


@dataclass(slots=True)
class CostLine:
    """The calls of one group and what they cost."""

    key: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    #: Sum of the known costs (None: no call of the group has a known price).
    usd: float | None = None
    #: Calls whose price is unknown.
    unknown: int = 0

    def add(self, c: CostRecord) -> None:
        self.calls += 1
        self.input_tokens += c.input_tokens
        self.output_tokens += c.output_tokens
        self.cached_tokens += c.cached_tokens
        if c.usd is None:
            self.unknown += 1
        else:
            self.usd = (self.usd or 0.0) + c.usd

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": None if self.usd is None else round(self.usd, 12),
            "unknown_price_calls": self.unknown,
        }


@dataclass(slots=True)
class CostReport:
    """Costs grouped one way, with the total."""

    by: str
    run_id: str | None
    lines: list[CostLine] = field(default_factory=list)
    total: CostLine = field(default_factory=lambda: CostLine("total"))
    #: Worst-case charges of calls whose process died mid-call.
    lost_usd: float = 0.0
    lost_calls: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "run_id": self.run_id,
            "groups": [line.to_json() for line in self.lines],
            "total": self.total.to_json(),
            "lost_calls": self.lost_calls,
            "lost_usd": round(self.lost_usd, 12),
        }


def _key(c: CostRecord, by: str) -> str:
    if by == "step":
        return c.step_id if c.item == NO_ITEM else f"{c.step_id}[{c.item}]"
    if by == "model":
        return f"{c.provider}:{c.model}"
    return str({"provider": c.provider, "day": c.day, "run": c.run_id}[by])


def group_costs(
    costs: Sequence[CostRecord],
    reservations: Sequence[ReservationRecord],
    *,
    by: str,
    run_id: str | None,
) -> CostReport:
    """Fold ledger rows into one line per group (first seen first), plus lost calls."""
    report = CostReport(by, run_id)
    lines: dict[str, CostLine] = {}
    for c in costs:
        key = _key(c, by)
        if key not in lines:
            lines[key] = CostLine(key)
        lines[key].add(c)
        report.total.add(c)
    report.lines = list(lines.values())
    for r in reservations:
        if r.state == "lost":
            report.lost_calls += 1
            report.lost_usd += r.usd or 0.0
    return report


async def cost_report(store: Store, *, run_id: str | None = None, by: str = "step") -> CostReport:
    """The costs of one run (or of every run), grouped ``by`` step, model, provider or day."""
    if by not in GROUPINGS:
        from runwright.errors import UsageError

        raise UsageError(f"--by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    if run_id is not None:
        run_id = (await store.get_run(run_id)).id  # a prefix, resolved (or NotFoundError)
    costs = await store.costs(run_id=run_id)
    reservations = await store.reservations(run_id=run_id)
    return group_costs(costs, reservations, by=by, run_id=run_id)


async def step_costs(store: Store, run_id: str) -> tuple[dict[str, CostLine], CostLine | None]:
    """Each step's calls and cost (for_each items folded into their step), and the run's."""
    by_step: dict[str, CostLine] = {}
    total = CostLine("total")
    for c in await store.costs(run_id=run_id):
        by_step.setdefault(c.step_id, CostLine(c.step_id)).add(c)
        total.add(c)
    return by_step, (total if total.calls else None)


def money(usd: float | None, unknown: int = 0) -> str:
    """``$0.0123``; ``unknown`` when no price is known; ``$0.01 + unknown`` when partly."""
    if usd is None:
        return "unknown" if unknown else "-"
    text = f"${usd:.6f}".rstrip("0").rstrip(".") if usd else "$0"
    return f"{text} + unknown" if unknown else text
