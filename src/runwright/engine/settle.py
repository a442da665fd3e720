"""Deciding a run's fate once nothing of it runs here: done, waiting, stuck, or not yet."""

from __future__ import annotations

import time

from runwright.engine.context import RunContext
from runwright.events import Event, EventType, Level
from runwright.states import AttemptState, RunStatus
from runwright.store.base import Transaction

A = AttemptState


async def settle(tx: Transaction, rc: RunContext, *, poll_interval: float) -> RunStatus | float:
    """Finish the run if all its work is done; else say how long to wait before looking again.

    Takes the run's row lock first, so that of several workers finishing the last
    steps at once, the last to commit sees every result and decides alone.
    Returns the final (or waiting) status, or seconds to wait.
    """
    status = await tx.lock_run(rc.run_id)
    if status is not RunStatus.RUNNING:
        return status
    # Counted in SQL: a run of 100,000 items settles without loading its attempts.
    tally = await tx.tally(rc.run_id)
    now = time.time()
    if tally.next_ready is not None:
        return max(0.0, min(tally.next_ready - now, poll_interval))
    if tally.held:
        return poll_interval
    if tally.counts.get(A.WAITING):
        waiting = sorted({a.step_id for a in await tx.current_attempts(rc.run_id, (A.WAITING,))})
        await tx.set_run_status(rc.run_id, RunStatus.WAITING)
        await tx.add_events([Event(EventType.RUN_WAITING, rc.run_id, data={"steps": waiting})])
        return RunStatus.WAITING
    if tally.counts.get(A.PENDING) or tally.counts.get(A.RUNNING):
        unfinished = [s for s in A if not s.finished]
        stuck = sorted({a.step_id for a in await tx.current_attempts(rc.run_id, unfinished)})
        await rc.committer.fail_run(tx, rc.run_id, f"run cannot progress: {stuck}")
        return RunStatus.FAILED
    started = now if tally.first_created is None else tally.first_created
    await tx.set_run_status(rc.run_id, RunStatus.SUCCEEDED, finished=True)
    await tx.add_events(
        [
            Event(
                EventType.RUN_SUCCEEDED,
                rc.run_id,
                level=Level.INFO,
                data={"duration": round(now - started, 3), "steps": len(rc.plan.steps)},
            )
        ]
    )
    return RunStatus.SUCCEEDED
