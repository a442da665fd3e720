"""Waiting while workers elsewhere execute a run (PostgreSQL, or `run --detach` + workers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial

from runwright.api.results import RunResult
from runwright.engine.resilience import retrying
from runwright.events import EventType
from runwright.settings import DEFAULT_LEASE_SECONDS
from runwright.states import AttemptState, RunStatus
from runwright.store.base import Store

Notify = Callable[[str], None]


async def live_workers(store: Store, *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> int:
    now = time.time()
    return sum(
        1
        for w in (await store.workers()).values()
        if w.state in ("starting", "active") and now - w.heartbeat_at < lease_seconds
    )


async def waiting_steps(store: Store, run_id: str) -> list[str]:
    """The steps of ``run_id`` that wait for an approval now, sorted."""
    waiting = await store.attempts(run_id, include_superseded=False, states=(AttemptState.WAITING,))
    return sorted({a.step_id for a in waiting})


async def wait_for_run(
    store: Store, run_id: str, *, notify: Notify = lambda _: None, poll: float = 0.2
) -> RunResult:
    """Wait while workers execute a run, until it finishes or waits for approval."""
    if not await retrying(store, "list the workers", partial(live_workers, store)):
        notify(
            "no live worker is connected to this database; the run is queued until one "
            "starts (`runwright worker`)"
        )
    # Poll the status alone (not the run's spec); read the whole run once at the end.
    while True:
        status = await retrying(store, "read the run", partial(store.run_status, run_id))
        if status.finished or status is RunStatus.WAITING:
            run = await retrying(store, "read the run", partial(store.get_run, run_id))
            if not (run.status.finished or run.status is RunStatus.WAITING):
                continue  # approved between the two reads: it runs again
            waiting: list[str] = []
            if run.status is RunStatus.WAITING:
                waiting = await retrying(
                    store, "read the run", partial(waiting_steps, store, run.id)
                )
            return RunResult(run.id, run.status, run.error, waiting_for=waiting)
        await asyncio.sleep(poll)


async def approval_prompts(store: Store, run_id: str) -> dict[str, str | None]:
    """The prompt of each step of ``run_id`` that waits for approval now (None: no prompt)."""
    waiting = {
        (a.step_id, a.number)
        # Approvals are asked of steps, never of for_each items: no need to read those.
        for a in await store.attempts(run_id, include_superseded=False, nodes_only=True)
        if str(a.state) == "waiting"
    }
    prompts: dict[str, str | None] = {}
    after = 0
    while batch := await store.events(
        run_id, after=after, limit=1000, types=[EventType.APPROVAL_REQUESTED.value]
    ):
        for e in batch:
            if (e.step_id, e.attempt) in waiting and e.step_id is not None:
                prompt = e.data.get("prompt")
                prompts[e.step_id] = prompt if isinstance(prompt, str) else None
        after = batch[-1].seq or after
        if len(batch) < 1000:
            break
    return prompts
