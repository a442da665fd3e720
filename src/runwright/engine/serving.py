"""The serving worker (``runwright worker``): claims ready work of any run until stopped.

Adds to :class:`~runwright.engine.worker.Worker` what only a long-lived worker
does: load runs it has not seen, decide runs when their last attempt here ends,
expire other workers' leases, and sweep for runs nobody decided.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from functools import partial

from runwright.engine.attempt import started_data
from runwright.engine.commit import attempt_event, fail_run
from runwright.engine.context import RunContext
from runwright.engine.faults import Fault
from runwright.engine.lifecycle import reopen
from runwright.engine.reaper import reap
from runwright.engine.resilience import retrying
from runwright.engine.worker import Worker, log
from runwright.errors import RunwrightError
from runwright.events import Event, EventType
from runwright.settings import DEFAULT_CONCURRENCY, DEFAULT_LEASE_SECONDS
from runwright.states import AttemptState, RunStatus
from runwright.store.base import Store, Transaction
from runwright.store.records import AttemptRecord

A = AttemptState
#: Run contexts (parsed spec, plan, output cache) a serving worker keeps.
CONTEXT_CACHE_SIZE = 64
#: Loads what a worker needs to execute attempts of a run it has not seen yet.
ContextLoader = Callable[[str], Awaitable[RunContext]]


class ServingWorker(Worker):
    """A :class:`Worker` that serves every run in the database, honouring its labels."""

    def __init__(
        self,
        store: Store,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        labels: Collection[str] = (),
        fault: Fault | None = None,
    ) -> None:
        super().__init__(
            store, concurrency=concurrency, lease_seconds=lease_seconds, labels=labels, fault=fault
        )
        self._contexts: OrderedDict[str, RunContext] = OrderedDict()
        self._loader: ContextLoader | None = None
        #: Runs whose in-flight attempts a stop-now cancelled (see :meth:`_hand_back`).
        self._stopped_now: set[str] = set()

    def request_stop(self, *, immediate: bool) -> None:
        if immediate:
            self._stopped_now.update(self._tasks.values())
        super().request_stop(immediate=immediate)

    async def _run_idle(self, rc: RunContext) -> None:
        # The worker that ends a run's last chain decides the run (under its row lock).
        await retrying(self.store, "settle a run", partial(self._settle_once, rc))

    async def _housekeeping(self) -> None:
        await retrying(
            self.store,
            "expire stale leases",
            partial(reap, self.store, lease_seconds=self.lease_seconds),
        )
        await self._sweep()

    async def _sweep(self) -> None:
        """Decide runs whose deciding worker died right after committing their last step."""
        loader = self._loader
        if loader is None:
            return
        for run_id in await retrying(self.store, "find unsettled runs", self.store.unsettled_runs):
            if self._chains[run_id]:
                continue
            rc = self._contexts.get(run_id)
            if rc is None:
                rc = await retrying(self.store, "load a run", partial(loader, run_id))
            await retrying(self.store, "settle a run", partial(self._settle_once, rc))

    async def serve(self, contexts: ContextLoader) -> None:
        """Claim and execute ready attempts of any run until asked to stop, then drain."""
        self._loader = contexts
        signal = self.store.work_signal()
        # Only from `starting`: a drain requested while we started up must stand.
        await self._set_state("active", expected="starting")
        next_check = time.monotonic() + self.poll_interval
        while not self._stopping:
            free = self.concurrency - self._active
            if free > 0:
                if signal is not None:
                    signal.clear()
                for a in await retrying(self.store, "claim work", partial(self._claim_any, free)):
                    rc = await self._context(a, contexts)
                    if rc is not None:
                        self._spawn(rc, a)
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + self.poll_interval
                await self._stop_cancelled_runs()
            if self._active < self.concurrency or not self._tasks:
                await self._wait(signal, self.poll_interval)
            else:
                await self._wait(None, self.poll_interval)
        await self._set_state("draining")
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        await self._hand_back()

    async def _hand_back(self) -> None:
        """Queue again what a stop-now cancelled: the worker stopped, not the run.

        A cancelled attempt of a run that still runs gets a ready successor (reason
        ``resumed``) for the next worker; otherwise the run would stay ``running``
        with nothing left to run it. Runs cancelled meanwhile are left as they are.
        """
        for run_id in sorted(self._stopped_now):

            async def once(run_id: str = run_id) -> None:
                async with self.store.transaction() as tx:
                    if await tx.lock_run(run_id) is not RunStatus.RUNNING:
                        return
                    mine = [
                        a
                        for a in await tx.current_attempts(run_id, (A.CANCELLED,))
                        if a.worker_id == self.id
                    ]
                    await reopen(tx, mine, reason="resumed")

            await retrying(self.store, "hand back cancelled work", once)

    async def _claim_any(self, limit: int) -> list[AttemptRecord]:
        now = time.time()
        async with self.store.transaction() as tx:
            claimed = await tx.claim(
                worker_id=self.id,
                limit=limit,
                now=now,
                lease_until=now + self.lease_seconds,
                labels=self._label_keys,
            )
            if claimed:
                claimed = await self._start_claimed(tx, claimed, now)
        self._took(claimed)
        return claimed

    async def _start_claimed(
        self, tx: Transaction, claimed: list[AttemptRecord], now: float
    ) -> list[AttemptRecord]:
        """Start, in the claim, what the run's plan starts when claimed (as a chain does).

        Its ``step.started`` is then durable with the claim: no transaction of its own
        before the kind acts, and ``started_at`` is the claim's time, as in a chain. Runs not
        seen yet are loaded here; one that does not load stays leased for
        :meth:`_context` to deal with once the claim has committed.
        """
        out: list[AttemptRecord] = []
        started: list[Event] = []
        for a in claimed:
            rc = await self._known(a.run_id)
            if rc is None or not rc.plan.starts_when_claimed(a.step_id, a.item):
                out.append(a)
                continue
            await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id=self.id, at=now)
            out.append(replace(a, state=A.RUNNING, started_at=now))
            started.append(attempt_event(a, EventType.STEP_STARTED, started_data(rc, a)))
        if started:
            await tx.add_events(started)
        return out

    async def _known(self, run_id: str) -> RunContext | None:
        rc = self._contexts.get(run_id)
        if rc is not None or self._loader is None:
            return rc
        try:
            rc = await self._loader(run_id)
        except RunwrightError:
            return None
        self._remember(run_id, rc)
        return rc

    def _remember(self, run_id: str, rc: RunContext) -> None:
        self._contexts[run_id] = rc
        if len(self._contexts) > CONTEXT_CACHE_SIZE:
            self._contexts.popitem(last=False)

    async def _context(self, a: AttemptRecord, contexts: ContextLoader) -> RunContext | None:
        rc = self._contexts.get(a.run_id)
        if rc is not None:
            self._contexts.move_to_end(a.run_id)
            return rc
        try:
            # A lost database is waited out here: only a run that does not load is failed.
            rc = await retrying(self.store, "load a run", partial(contexts, a.run_id))
        except RunwrightError as exc:
            # This run cannot execute anywhere (its pinned spec no longer loads): fail it
            # rather than hand the attempt from worker to worker for ever.
            await self._fail_unloadable(a, str(exc))
            return None
        self._remember(a.run_id, rc)
        return rc

    async def _fail_unloadable(self, a: AttemptRecord, error: str) -> None:
        message = f"cannot load the run's pipeline on worker {self.id}: {error}"
        log.error(message, extra={"run_id": a.run_id})

        async def once() -> None:
            async with self.store.transaction() as tx:
                await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id=self.id)
                await tx.transition(a.id, A.RUNNING, A.FAILED, error=message, worker_id=self.id)
                await fail_run(tx, a.run_id, message)

        try:
            await retrying(self.store, "fail an unloadable run", once)
        finally:
            self._released(a)

    async def _stop_cancelled_runs(self) -> None:
        for run_id in set(self._tasks.values()):
            run = await retrying(self.store, "read a run", partial(self.store.get_run, run_id))
            if run.status is RunStatus.CANCELLED:
                for task, owner in list(self._tasks.items()):
                    if owner == run_id:
                        task.cancel()
