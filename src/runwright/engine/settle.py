"""Deciding a run's fate once nothing of it runs here: done, waiting, stuck, or not yet."""

from __future__ import annotations

import time
from collections import Counter

from runwright.engine.context import RunContext
from runwright.events import Event, EventType, Level
from runwright.states import AttemptState, RunStatus
from runwright.store.base import Transaction
from runwright.store.records import NO_ITEM

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
    current = await tx.current_attempts(rc.run_id)
    states = Counter(a.state for a in current)
    now = time.time()
    ready = [a.not_before for a in current if a.state is A.READY]
    if ready:
        return max(0.0, min(min(ready) - now, poll_interval))
    # A for_each parent waiting for its items holds no worker: it is not in flight.
    in_flight = [
        a
        for a in current
        if a.state in (A.LEASED, A.RUNNING) and not (a.item == NO_ITEM and a.worker_id is None)
    ]
    if in_flight:
        return poll_interval
    if states[A.WAITING]:
        waiting = sorted({a.step_id for a in current if a.state is A.WAITING})
        await tx.set_run_status(rc.run_id, RunStatus.WAITING)
        await tx.add_events([Event(EventType.RUN_WAITING, rc.run_id, data={"steps": waiting})])
        return RunStatus.WAITING
    if states[A.PENDING] or states[A.RUNNING]:
        stuck = sorted({a.step_id for a in current if not a.state.finished})
        await rc.committer.fail_run(tx, rc.run_id, f"run cannot progress: {stuck}")
        return RunStatus.FAILED
    started = min((a.created_at for a in current), default=now)
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
