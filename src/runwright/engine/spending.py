"""The guard every spending call of an attempt goes through (models, agents)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from runwright.engine.context import RunContext
from runwright.store.base import Store
from runwright.store.records import AttemptRecord

if TYPE_CHECKING:
    from runwright.costs.guard import CallGuard, Candidate
    from runwright.providers.base import CompletionRequest, CompletionResponse

T = TypeVar("T")


class LazySpendGuard:
    """The attempt's :class:`~runwright.costs.guard.CallGuard`, built at its first call.

    Most attempts (shell, python, approvals) never spend: they never import the
    price table and config models, nor build a spending policy.
    """

    def __init__(self, rc: RunContext, a: AttemptRecord, store: Store) -> None:
        self._rc, self._a, self._store = rc, a, store
        self._guard: CallGuard | None = None

    def _built(self) -> CallGuard:
        if self._guard is None:
            self._guard = spend_guard(self._rc, self._a, self._store)
        return self._guard

    async def __call__(
        self,
        candidate: Candidate,
        request: CompletionRequest,
        call: Callable[[], Awaitable[CompletionResponse]],
    ) -> CompletionResponse:
        return await self._built()(candidate, request, call)

    async def spend(
        self,
        candidate: Candidate,
        *,
        worst_usd: float | None,
        call: Callable[[], Awaitable[T]],
        cost_of: Callable[[T], float | None],
    ) -> T:
        return await self._built().spend(candidate, worst_usd=worst_usd, call=call, cost_of=cost_of)

    async def headroom(self) -> float | None:
        return await self._built().headroom()


def spend_guard(rc: RunContext, a: AttemptRecord, store: Store) -> CallGuard:
    """The one guard this attempt's spending calls go through (budgets of run and config)."""
    # Imported here: the price table and config models stay off the CLI's start-up path.
    from runwright.config import LoadedConfig
    from runwright.costs.guard import BudgetGuard, SpendIdentity
    from runwright.costs.policy import SpendPolicy

    trust_limit = rc.governor.spend_limit(a.step_id) if rc.governor is not None else None
    policy = rc.spend_policies.get(trust_limit)
    if policy is None:
        pipeline = rc.plan.pipeline
        policy = SpendPolicy.build(
            config=(rc.config or LoadedConfig.empty()).config,
            pipeline=pipeline.name,
            run_usd=pipeline.budget.usd if pipeline.budget else None,
        )
        if trust_limit is not None:
            # A trust level's spending cap is one more budget of the run, on the same path.
            policy = policy.with_run_limit(*trust_limit)
        rc.spend_policies[trust_limit] = policy
    identity = SpendIdentity(a.run_id, a.step_id, a.item, a.number, a.id)
    return BudgetGuard(store=store, identity=identity, policy=policy)
