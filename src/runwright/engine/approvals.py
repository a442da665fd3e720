"""Approve or reject a step that waits for a person."""

from __future__ import annotations

import json

from runwright.engine.commit import Committer, attempt_event
from runwright.errors import NotFoundError, StateError
from runwright.events import EventType, Level
from runwright.spec.suggest import did_you_mean
from runwright.states import AttemptState, RunStatus
from runwright.store.base import Store
from runwright.store.records import NO_ITEM

A = AttemptState


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
    """Finish a waiting approval; return the run's status afterwards."""
    if step_id not in committer.plan.steps:
        raise NotFoundError(
            f"run {run_id} has no step {step_id!r}"
            f"{did_you_mean(step_id, list(committer.plan.steps))}"
        )
    async with store.transaction() as tx:
        a = await tx.current_attempt(run_id, step_id, NO_ITEM)
        if a is None or a.state is not A.WAITING:
            state = "not started" if a is None else str(a.state)
            raise StateError(
                f"step {step_id!r} of run {run_id} is not waiting for approval (it is {state})"
            )
        if approve:
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
