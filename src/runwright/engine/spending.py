"""The guard every spending call of an attempt goes through (models, agents)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runwright.engine.context import RunContext
from runwright.store.base import Store
from runwright.store.records import AttemptRecord

if TYPE_CHECKING:
    from runwright.costs.guard import CallGuard


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
