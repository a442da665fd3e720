"""Workers through the API: serve (``runwright worker``), list, drain, wait for a run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from contextlib import nullcontext, suppress
from dataclasses import dataclass, replace
from typing import Any

from runwright.api.session import Session
from runwright.engine.context import RunContext
from runwright.engine.serving import ServingWorker
from runwright.engine.worker import Worker
from runwright.settings import DEFAULT_LEASE_SECONDS
from runwright.signals import interrupts
from runwright.store.records import AttemptRecord, WorkerRecord
from runwright.store.sql_store import LIVE_WORKER_STATES

Notify = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class WorkerView:
    """A worker as stored, with the attempts it holds right now."""

    worker: WorkerRecord
    attempts: list[AttemptRecord]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.worker.to_json(),
            "attempts": [
                {
                    "run_id": a.run_id,
                    "step_id": a.step_id,
                    "item": a.item_or_none,
                    "attempt": a.number,
                    "state": str(a.state),
                    "lease_expires": a.lease_expires,
                }
                for a in self.attempts
            ],
        }


async def serve(
    session: Session,
    *,
    concurrency: int,
    labels: Collection[str] = (),
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    scheduler: bool = True,
    scheduler_interval: float = 5.0,
    handle_signals: bool = False,
    notify: Notify = lambda _: None,
    on_start: Callable[[Worker], None] | None = None,
) -> Worker:
    """Run a worker until it is told to stop (SIGTERM, Ctrl-C or ``worker drain``).

    The first stop request drains (in-flight attempts finish, nothing new is
    claimed); a second one cancels in-flight attempts. With ``scheduler``, this
    worker also fires due schedules (any number of workers may).
    """
    worker = ServingWorker(
        session.store,
        concurrency=concurrency,
        lease_seconds=lease_seconds,
        labels=labels,
        fault=session.settings.fault,
    )

    async def load(run_id: str) -> RunContext:
        return session.run_context(await session.store.get_run(run_id))

    await worker.start()
    if on_start is not None:
        on_start(worker)
    stopping = asyncio.Event()
    schedules: asyncio.Task[None] | None = None
    if scheduler:
        from runwright.schedule.scheduler import run_scheduler

        schedules = asyncio.create_task(
            run_scheduler(session, stopping, interval=scheduler_interval)
        )
    try:
        with interrupts(worker, notify) if handle_signals else nullcontext():
            await worker.serve(load)
    finally:
        stopping.set()
        if schedules is not None:
            # It ends after its current tick; cancelling a tick mid-query is avoided.
            try:
                await asyncio.wait_for(asyncio.shield(schedules), 30)
            except TimeoutError:
                schedules.cancel()
                with suppress(asyncio.CancelledError):
                    await schedules
        await worker.stop()
    return worker


async def list_workers(
    session: Session, *, include_stopped: bool = True, silent_for: float = DEFAULT_LEASE_SECONDS
) -> list[WorkerView]:
    """The workers the database knows (stopped ones only with ``include_stopped``).

    A worker whose heartbeat stopped more than ``silent_for`` seconds ago is
    shown ``lost`` even before another worker's reaper has marked it so (a lone
    worker killed with SIGKILL is never marked by anyone).
    """
    now = time.time()
    held: dict[str, list[AttemptRecord]] = {}
    for a in await session.store.held_attempts():
        held.setdefault(a.worker_id or "", []).append(a)
    views = []
    for w in (await session.store.workers()).values():
        if w.state in LIVE_WORKER_STATES and now - w.heartbeat_at > silent_for:
            w = replace(w, state="lost")
        if include_stopped or w.state != "stopped":
            views.append(WorkerView(w, held.get(w.id, [])))
    return views


async def drain(session: Session, worker_id: str) -> WorkerRecord:
    """Ask a worker (id or unique prefix) to finish its in-flight work and stop."""
    return await session.store.request_drain(worker_id)
