"""The engine's side of trust levels: ask the run's governor before a step acts.

A refusal fails the step (:class:`~runwright.errors.GovernanceError`, never
retried); ``on_violation: ask`` parks it for a person instead, and the attempt that
the approval starts runs. Every decision is a ``governance.decision`` event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runwright.engine.context import RunContext
from runwright.errors import GovernanceError
from runwright.events import EventType, Level
from runwright.steps.base import StepKind, WaitForApproval
from runwright.store.base import Store
from runwright.store.records import NO_ITEM, AttemptRecord

#: What a kind that does not say (a plugin) is assumed to do: anything its code can.
UNDECLARED = frozenset({"shell", "write_workspace", "network"})

Emit = Callable[[EventType, Level, dict[str, Any]], None]


def capabilities(kind: StepKind, params: Mapping[str, Any]) -> frozenset[str]:
    """What ``kind`` would do with ``params`` (its ``capabilities()``, else :data:`UNDECLARED`)."""
    declared = getattr(kind, "capabilities", None)
    if declared is None:
        return UNDECLARED
    return frozenset(declared(params))


async def govern(
    rc: RunContext, store: Store, a: AttemptRecord, params: Mapping[str, Any], emit: Emit
) -> WaitForApproval | None:
    """``None`` when the step may act; a :class:`WaitForApproval` to park it; raises if refused."""
    governor = rc.governor
    if governor is None:
        return None
    kind = rc.plan.steps[a.step_id].kind
    verdict = await governor.check(a.step_id, kind.name, capabilities(kind, params))
    data = {**verdict.data, "attempt": a.number}
    if verdict.allowed:
        emit(EventType.GOVERNANCE_DECISION, Level.INFO, data)
        return None
    if verdict.ask and a.item == NO_ITEM:
        if await _granted(store, a):
            emit(EventType.GOVERNANCE_DECISION, Level.INFO, {**data, "decision": "granted"})
            return None
        emit(EventType.GOVERNANCE_DECISION, Level.WARNING, data)
        return WaitForApproval(prompt=verdict.message, data={"governance": data})
    emit(EventType.GOVERNANCE_DECISION, Level.WARNING, {**data, "decision": "denied"})
    message = verdict.message
    if verdict.ask:
        message += " (on_violation: ask does not apply to for_each items: they fail instead)"
    raise GovernanceError(message)


async def _granted(store: Store, a: AttemptRecord) -> bool:
    """Whether a person approved this step to act (a grant for this attempt or before it).

    Work sent back by an ``on_fail`` loop asks again: it is a different change.
    """
    if a.reason == "gate_failed":
        return False
    decisions = await store.events(
        a.run_id, types=[str(EventType.GOVERNANCE_DECISION)], step_id=a.step_id, limit=10_000
    )
    return any(
        e.data.get("decision") == "granted"
        and e.data.get("by") is not None
        and int(e.data.get("attempt", 0)) <= a.number
        for e in decisions
    )
