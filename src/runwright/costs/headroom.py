"""Would a call to a candidate fit the budgets now? Read-only, for ``explain model``.

Asks what :class:`~runwright.costs.guard.BudgetGuard` asks before a call — the
price, and whether its worst-case cost fits every budget after what is spent and
held — but reserves nothing and writes nothing. The worst case is the guard's own
(:meth:`PriceTable.worst_case`) for a call with no prompt and no ``max_tokens``:
a real call's prompt only adds to it, so a candidate reported over budget would be
refused.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from runwright.config.models import ProjectConfig
from runwright.costs.guard import utc_day
from runwright.costs.policy import SpendPolicy
from runwright.providers.base import CompletionRequest
from runwright.store.records_costs import SPENDING_STATES, BudgetLimit, ReservationRecord

if TYPE_CHECKING:
    from runwright.providers.base import Candidate
    from runwright.store.base import Store

#: Float noise a reservation may exceed a limit by (the store's own tolerance).
_EPSILON = 1e-9

#: How each scope's budget is named in the reason ("daily $X of $Y spent"; the CLI puts
#: "over budget: " before it), and where it is set.
_WORDS = {
    "pipeline_day": ("pipeline {p!r} daily", "[budgets.pipelines.{p}] daily_usd"),
    "pipeline": ("pipeline {p!r} total", "[budgets.pipelines.{p}] total_usd"),
    "day": ("daily", "[budgets] daily_usd"),
    "total": ("total", "[budgets] total_usd"),
}


class BudgetHeadroom:
    """A :data:`~runwright.api.explain.BudgetCheck` over ``[budgets]`` and the store.

    ``pipeline`` None checks only the global budgets (a pipeline's own need its name).
    ``store`` None: nothing has been spent yet (no database).
    """

    def __init__(
        self, config: ProjectConfig, store: Store | None, *, pipeline: str | None = None
    ) -> None:
        policy = SpendPolicy.build(config=config, pipeline=pipeline or "", run_usd=None)
        if pipeline is None:
            policy_limits = tuple(lim for lim in policy.limits if lim.scope in ("day", "total"))
        else:
            policy_limits = policy.limits
        self._policy = policy
        self._limits = policy_limits
        self._store = store
        self._pipeline = pipeline
        self._reservations: list[ReservationRecord] | None = None

    async def __call__(self, candidate: Candidate) -> str | None:
        """Why ``candidate`` is over budget now, or None."""
        policy = self._policy
        price = policy.prices.lookup(candidate.provider, candidate.model)
        if price is None:
            if policy.unknown_price == "error":
                return (
                    f"no known price for {candidate.ref} and [budgets] unknown_price = "
                    f'"error": a call would be refused (add [prices."{candidate.ref}"])'
                )
            return None
        if not self._limits:
            return None
        worst = policy.prices.worst_case(price, CompletionRequest(candidate.model, ()))
        day = utc_day(time.time())
        for limit in sorted(self._limits, key=lambda lim: lim.usd):
            spent = await self._spent(limit, day)
            if spent + worst > limit.usd + _EPSILON:
                words, where = (w.format(p=self._pipeline) for w in _WORDS[limit.scope])
                return (
                    f"{words} ${spent:.6g} of ${limit.usd:g} spent; "
                    f"a call may cost up to ${worst:.6g} (raise {where} in runwright.toml)"
                )
        return None

    async def _spent(self, limit: BudgetLimit, day: str) -> float:
        # Summed from the reservations as the store's scope rows are (held, settled, lost),
        # read without locking or creating those rows.
        if self._reservations is None:
            self._reservations = [] if self._store is None else await self._store.reservations()
        total = 0.0
        for r in self._reservations:
            if r.state not in SPENDING_STATES or r.usd is None:
                continue
            if limit.scope in ("pipeline_day", "day") and r.day != day:
                continue
            if limit.scope.startswith("pipeline") and r.pipeline != self._pipeline:
                continue
            total += r.usd
        return total
