"""The worker loop: claim ready attempts, execute them, commit, repeat.

Embedded mode is this same loop in-process on SQLite. A completion claims the
next ready attempts in the same transaction that made them ready, so a chain
of steps costs one commit per step.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import suppress

from runwright.engine.attempt import execute, started_data
from runwright.engine.commit import attempt_event
from runwright.engine.context import RunContext
from runwright.engine.lifecycle import cancel_in_tx, reopen
from runwright.errors import IllegalTransition
from runwright.events import Event, EventType, Level
from runwright.states import AttemptState, RunStatus
from runwright.store.base import Store, Transaction
from runwright.store.records import NO_ITEM, AttemptRecord, WorkerRecord

log = logging.getLogger("runwright.worker")
A = AttemptState
DEFAULT_CONCURRENCY = 4
DEFAULT_LEASE_SECONDS = 30.0
#: How often an idle or busy worker looks for outside changes (cancel, approvals).
DEFAULT_POLL_INTERVAL = 0.25


class Worker:
    """Claims and executes attempts under leases it renews by heartbeat."""

    def __init__(
        self,
        store: Store,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        self.store = store
        self.concurrency = max(1, concurrency)
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._tasks: set[asyncio.Task[None]] = set()
        self._active = 0
        self._changed = asyncio.Event()
        self._stopping = False
        self._heartbeat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        now = time.time()
        await self.store.register_worker(
            WorkerRecord(
                self.id, socket.gethostname(), os.getpid(), "active", self.concurrency, [], now, now
            )
        )
        self._heartbeat = asyncio.create_task(self._beat())

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with suppress(asyncio.CancelledError):
                await self._heartbeat
        await self.store.set_worker_state(self.id, "stopped")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            now = time.time()
            await self.store.heartbeat(self.id, now=now, lease_until=now + self.lease_seconds)

    def request_stop(self, *, immediate: bool) -> None:
        """Stop claiming; with ``immediate``, also cancel in-flight attempts."""
        self._stopping = True
        if immediate:
            for task in list(self._tasks):
                task.cancel()
        self._changed.set()

    # -- claiming -------------------------------------------------------------------------

    async def _claim_in(self, tx: Transaction, rc: RunContext, limit: int) -> list[AttemptRecord]:
        if self._stopping or limit <= 0:
            return []
        now = time.time()
        claimed = await tx.claim(
            worker_id=self.id,
            limit=limit,
            now=now,
            lease_until=now + self.lease_seconds,
            run_id=rc.run_id,
            start=rc.plan.direct_start,
        )
        started = [
            attempt_event(a, EventType.STEP_STARTED, started_data(rc, a))
            for a in claimed
            if a.state is A.RUNNING
        ]
        if started:
            await tx.add_events(started)
        self._active += len(claimed)
        return claimed

    def _finisher(self, rc: RunContext) -> Callable[..., Awaitable[list[AttemptRecord]]]:
        async def finish(write: Callable[[Transaction], Awaitable[None]]) -> list[AttemptRecord]:
            async with self.store.transaction() as tx:
                await write(tx)
                # This attempt's slot frees as it commits, so it may claim one more.
                return await self._claim_in(tx, rc, self.concurrency - self._active + 1)

        return finish

    # -- executing ------------------------------------------------------------------------

    def _spawn(self, rc: RunContext, a: AttemptRecord) -> None:
        task = asyncio.create_task(self._chain(rc, a))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._changed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("attempt task crashed", exc_info=task.exception())

    async def _chain(self, rc: RunContext, a: AttemptRecord | None) -> None:
        # Runs one attempt, then (in this same task) the first attempt its commit claimed:
        # a chain of steps needs no new task per step.
        finish = self._finisher(rc)
        while a is not None:
            try:
                claimed = await execute(rc, a, store=self.store, worker_id=self.id, finish=finish)
            except IllegalTransition as exc:
                log.warning(
                    "result refused: %s",
                    exc,
                    extra={"event": "attempt.fenced", "run_id": rc.run_id},
                )
                claimed = []
            except asyncio.CancelledError:
                self._active -= 1
                raise
            self._active -= 1
            for extra in claimed[1:]:
                self._spawn(rc, extra)
            a = claimed[0] if claimed else None
            if self._stopping and a is not None:
                # Stopping: hand claimed-but-unstarted attempts back.
                await self._unclaim(rc, [a])
                a = None

    async def _unclaim(self, rc: RunContext, attempts: list[AttemptRecord]) -> None:
        async with self.store.transaction() as tx:
            for a in attempts:
                await tx.transition(a.id, a.state, A.ABANDONED, reason="worker stopping")
                await tx.supersede([a.id])
            await reopen(tx, attempts, reason="resumed")
        self._active -= len(attempts)

    # -- driving a run --------------------------------------------------------------------

    async def drive(self, rc: RunContext) -> RunStatus:
        """Execute ``rc``'s run until it finishes, waits for approval, or is cancelled."""
        async with self.store.transaction() as tx:
            claimed = await self._claim_in(tx, rc, self.concurrency)
        for a in claimed:
            self._spawn(rc, a)
        next_check = time.monotonic() + self.poll_interval
        while True:
            if self._tasks:
                self._changed.clear()
                with suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, next_check - time.monotonic())):
                        await self._changed.wait()
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.poll_interval
                    await self._poll(rc)
                continue
            if self._stopping:
                return await self._interrupted(rc)
            outcome = await self._settle(rc)
            if isinstance(outcome, RunStatus):
                return outcome
            await self._idle_wait(outcome)
            await self._poll(rc)

    async def _idle_wait(self, seconds: float) -> None:
        self._changed.clear()
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._changed.wait()

    async def _poll(self, rc: RunContext) -> None:
        """Notice outside changes: a cancel, or work made ready by another process."""
        async with self.store.transaction() as tx:
            status = await tx.run_status(rc.run_id)
            if status is RunStatus.CANCELLED:
                self.request_stop(immediate=True)
                return
            claimed = await self._claim_in(tx, rc, self.concurrency - self._active)
        for a in claimed:
            self._spawn(rc, a)

    async def _interrupted(self, rc: RunContext) -> RunStatus:
        async with self.store.transaction() as tx:
            status = await tx.run_status(rc.run_id)
            if status in (RunStatus.RUNNING, RunStatus.WAITING):
                await cancel_in_tx(tx, rc.run_id, reason="interrupted")
                return RunStatus.CANCELLED
            return status

    async def _settle(self, rc: RunContext) -> RunStatus | float:
        """Nothing in flight here: decide whether the run is done, waiting, or has more work.

        Returns the final (or waiting) status, or how long to wait before looking again.
        """
        async with self.store.transaction() as tx:
            status = await tx.run_status(rc.run_id)
            if status is not RunStatus.RUNNING:
                return status
            current = await tx.current_attempts(rc.run_id)
            states = Counter(a.state for a in current)
            now = time.time()
            ready = [a.not_before for a in current if a.state is A.READY]
            if ready:
                return max(0.0, min(min(ready) - now, self.poll_interval))
            in_flight = [
                a
                for a in current
                if a.state in (A.LEASED, A.RUNNING)
                and not (a.item == NO_ITEM and a.worker_id is None)
            ]
            if in_flight:
                return self.poll_interval  # another worker holds them
            if states[A.WAITING]:
                waiting = sorted({a.step_id for a in current if a.state is A.WAITING})
                await tx.set_run_status(rc.run_id, RunStatus.WAITING)
                await tx.add_events(
                    [Event(EventType.RUN_WAITING, rc.run_id, data={"steps": waiting})]
                )
                return RunStatus.WAITING
            if states[A.PENDING] or states[A.RUNNING]:
                stuck = sorted({a.step_id for a in current if not a.state.finished})
                await rc.committer.fail_run(tx, rc.run_id, f"run cannot progress: {stuck}")
                return RunStatus.FAILED
            started = (await self.store.get_run(rc.run_id)).started_at or now
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
