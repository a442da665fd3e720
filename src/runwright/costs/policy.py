"""Which budgets bound a run's calls, and what an unknown price does: read once per run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from runwright.config.models import ProjectConfig
from runwright.costs.prices import PriceTable
from runwright.store.records_costs import BudgetLimit


@dataclass(frozen=True, slots=True)
class SpendPolicy:
    """The prices, the budgets and the unknown-price rule every call of a run obeys."""

    pipeline: str
    prices: PriceTable
    limits: tuple[BudgetLimit, ...]
    unknown_price: Literal["unknown", "error"] = "unknown"

    @classmethod
    def build(cls, *, config: ProjectConfig, pipeline: str, run_usd: float | None) -> SpendPolicy:
        """The policy of one run of ``pipeline`` (``run_usd``: the spec's ``budget.usd``)."""
        b = config.budgets
        limits: list[BudgetLimit] = []
        if run_usd is not None:
            limits.append(BudgetLimit("run", run_usd, "the run's budget (budget.usd in the spec)"))
        own = b.pipelines.get(pipeline)
        if own is not None and own.daily_usd is not None:
            limits.append(
                BudgetLimit(
                    "pipeline_day",
                    own.daily_usd,
                    f"pipeline {pipeline!r}'s daily budget ([budgets.pipelines.{pipeline}] "
                    "daily_usd in runwright.toml)",
                )
            )
        if own is not None and own.total_usd is not None:
            limits.append(
                BudgetLimit(
                    "pipeline",
                    own.total_usd,
                    f"pipeline {pipeline!r}'s total budget ([budgets.pipelines.{pipeline}] "
                    "total_usd in runwright.toml)",
                )
            )
        if b.daily_usd is not None:
            limits.append(BudgetLimit("day", b.daily_usd, "the daily budget ([budgets] daily_usd)"))
        if b.total_usd is not None:
            limits.append(
                BudgetLimit("total", b.total_usd, "the total budget ([budgets] total_usd)")
            )
        return cls(pipeline, PriceTable(config), tuple(limits), b.unknown_price)

    def with_run_limit(self, usd: float, source: str) -> SpendPolicy:
        """This policy with one more per-run budget (a trust level's ``spend_usd``)."""
        return replace(self, limits=(*self.limits, BudgetLimit("run", usd, source)))
