"""Approve or reject a step that waits for a person."""

from __future__ import annotations

import json
from typing import Any

from runwright.engine.commit import Committer, attempt_event
from runwright.errors import NotFoundError, StateError
from runwright.events import Event, EventType, Level
from runwright.spec.suggest import did_you_mean
from runwright.states import AttemptState, RunStatus
from runwright.store.base import Store
from runwright.store.records import NO_ITEM

A = AttemptState


def _request(requests: list[Event], attempt: int) -> dict[str, Any]:
    """The data of the approval request made by attempt number ``attempt``."""
    for event in reversed(requests):
        if event.attempt == attempt:
            return event.data
    return {}


def _approvers(request: dict[str, Any]) -> list[str]:
    """The request's ``approvers`` (``[]``: anyone)."""
    names = request.get("approvers") or []
    return [n for n in names if isinstance(n, str)]


async def decide(
    store: Store,
    committer: Committer,
    run_id: str,
    step_id: str,
    *,
    approve: bool,
    by: str,
    note: str | None,
) -> RunStatus:
    """Finish a waiting approval; return the run's status afterwards.

    When the step named ``approvers``, only they may decide (``by`` is the decider's
    identity); anyone else gets a :class:`StateError` naming who may.
    """
    if step_id not in committer.plan.steps:
        raise NotFoundError(
            f"run {run_id} has no step {step_id!r}"
            f"{did_you_mean(step_id, list(committer.plan.steps))}"
        )
    # Who may decide was rendered when the step parked (approvers may be templates):
    # read it from the request of the attempt that waits, not from the spec.
    requests = await store.events(
        run_id, types=[str(EventType.APPROVAL_REQUESTED)], step_id=step_id, limit=10_000
    )
    async with store.transaction() as tx:
        a = await tx.current_attempt(run_id, step_id, NO_ITEM)
        if a is None or a.state is not A.WAITING:
            state = "not started" if a is None else str(a.state)
            raise StateError(
                f"step {step_id!r} of run {run_id} is not waiting for approval (it is {state})"
            )
        request = _request(requests, a.number)
        approvers = _approvers(request)
        if approvers and by not in approvers:
            verb = "approve" if approve else "reject"
            names = ", ".join(repr(n) for n in approvers)
            raise StateError(
                f"{by!r} may not {verb} step {step_id!r} of run {run_id}: its approvers are "
                f"{names}; decide as one of them with --as NAME (or RUNWRIGHT_USER)",
                by=by,
                approvers=approvers,
            )
        governance = request.get("governance")
        if isinstance(governance, dict):
            # A step its trust level held back: approving lets it act (a new attempt that
            # the grant covers), rejecting fails it. Either way it is on the audit trail.
            decision = {**governance, "by": by, "comment": note}
            if approve:
                grant = {**decision, "decision": "granted", "attempt": a.number + 1}
                await tx.reopen([a.id], "approved")
                await tx.add_events(
                    [
                        attempt_event(a, EventType.APPROVAL_GRANTED, {"by": by, "comment": note}),
                        attempt_event(a, EventType.GOVERNANCE_DECISION, grant),
                    ]
                )
            else:
                refusal = {**decision, "decision": "refused"}
                event = attempt_event(a, EventType.GOVERNANCE_DECISION, refusal, Level.WARNING)
                await committer.fail(
                    tx,
                    a,
                    f"rejected by {by}: {note or 'no reason given'} ({governance.get('level')}"
                    " trust level)",
                    [event],
                    retryable=False,
                    old=A.WAITING,
                    reason="rejected",
                )
        elif approve:
            data = {"approved": True, "by": by, "comment": note}
            event = attempt_event(a, EventType.APPROVAL_GRANTED, {"by": by, "comment": note})
            await committer.succeed(tx, a, json.dumps(data), [event], old=A.WAITING)
        else:
            event = attempt_event(
                a, EventType.APPROVAL_REJECTED, {"by": by, "reason": note}, Level.WARNING
            )
            await committer.fail(
                tx,
                a,
                f"rejected by {by}: {note or 'no reason given'}",
                [event],
                retryable=False,
                old=A.WAITING,
                reason="rejected",
            )
        if await tx.run_status(run_id) is RunStatus.WAITING:
            # Let a worker settle the run: it may run on, wait for others, or finish.
            await tx.set_run_status(run_id, RunStatus.RUNNING)
        return await tx.run_status(run_id)
