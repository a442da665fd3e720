"""The worker loop: claim ready attempts, execute them, commit, repeat.

One loop, two ways to feed it. :meth:`Worker.drive` executes one run in-process
(embedded mode, ``runwright run``); :class:`~runwright.engine.serving.ServingWorker`
claims ready work of any run for as long as the process lives (``runwright
worker``). A completion claims the next ready attempts of its run in the same
transaction that made them ready, so a chain of steps costs one commit per step.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
import uuid
from collections import Counter
from collections.abc import Collection
from contextlib import suppress
from functools import partial

from runwright.engine.attempt import execute
from runwright.engine.claiming import Claiming
from runwright.engine.context import RunContext
from runwright.engine.faults import Fault
from runwright.engine.itemgroup import ItemGroups
from runwright.engine.lifecycle import cancel_in_tx, reopen
from runwright.engine.resilience import retrying, transact
from runwright.engine.settle import settle
from runwright.errors import ConfigError, IllegalTransition, StoreError, StoreUnavailable
from runwright.settings import DEFAULT_CONCURRENCY, DEFAULT_LEASE_SECONDS
from runwright.spec.models import LABEL_PATTERN
from runwright.states import AttemptState, RunStatus
from runwright.store.base import Store, Transaction
from runwright.store.records import AttemptRecord, WorkerRecord
from runwright.store.sql import MAX_WORKER_LABELS, label_subsets

log = logging.getLogger("runwright.worker")
A = AttemptState
#: How often a worker looks for outside changes (cancel, work made ready elsewhere).
DEFAULT_POLL_INTERVAL = 0.25
#: Seconds stop() lets a heartbeat in progress finish before cancelling it.
STOP_GRACE = 10.0


def check_labels(labels: Collection[str]) -> None:
    """Refuse labels a step could never require (or too many to match)."""
    bad = [label for label in labels if not re.match(LABEL_PATTERN, label)]
    if bad:
        raise ConfigError(
            f"invalid worker label {bad[0]!r}: use letters, digits and _ . : - "
            "(no commas or spaces), the same rule as a step's labels"
        )
    if len(set(labels)) > MAX_WORKER_LABELS:
        raise ConfigError(f"a worker carries at most {MAX_WORKER_LABELS} labels")


class Worker(Claiming):
    """Claims and executes attempts under leases it renews by heartbeat."""

    def __init__(
        self,
        store: Store,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        labels: Collection[str] | None = None,
        fault: Fault | None = None,
    ) -> None:
        self.store = store
        #: Crash tests only: where this process kills itself (see runwright.engine.faults).
        self.fault = fault
        self.concurrency = max(1, concurrency)
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        if labels is not None:
            check_labels(labels)
        #: None: claim whatever the run needs (in-process runs); else only these labels.
        self.labels = sorted(set(labels)) if labels is not None else None
        self._label_keys = label_subsets(self.labels) if self.labels is not None else None
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.state = "starting"
        #: Attempts this worker is executing or has claimed: the leases it renews.
        self.held: set[int] = set()
        self._tasks: dict[asyncio.Task[None], str] = {}
        #: Chains in flight per run; the last one to end decides the run's fate.
        self._chains: Counter[str] = Counter()
        self._active = 0
        #: for_each items finishing together commit together (see :mod:`.itemgroup`).
        self.item_groups = ItemGroups()
        self._changed = asyncio.Event()
        #: Set by stop(): the heartbeat loop ends after its current beat.
        self._beating = asyncio.Event()
        self._stopping = False
        self._heartbeat: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        now = time.time()
        record = WorkerRecord(
            self.id,
            socket.gethostname(),
            os.getpid(),
            self.state,
            self.concurrency,
            list(self.labels or []),
            now,
            now,
        )
        await retrying(
            self.store, "register this worker", lambda: self.store.register_worker(record)
        )
        self._heartbeat = asyncio.create_task(self._beat())

    async def stop(self) -> None:
        # Let the heartbeat finish what it is doing rather than cancel it mid-query: a
        # driver may report a cancelled query as a lost connection, and retry it.
        self._beating.set()
        if self._heartbeat is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._heartbeat), STOP_GRACE)
            except TimeoutError:
                self._heartbeat.cancel()
                with suppress(asyncio.CancelledError):
                    await self._heartbeat
        self.state = "stopped"
        try:
            await self.store.set_worker_state(self.id, "stopped")
        except StoreError as exc:  # the heartbeat stops either way; others will see `lost`
            log.warning("could not record that worker %s stopped: %s", self.id, exc)

    async def _set_state(self, state: str, *, expected: str | None = None) -> None:
        changed = await retrying(
            self.store,
            f"record state {state}",
            partial(self.store.set_worker_state, self.id, state, expected=expected),
        )
        if changed:
            self.state = state

    async def _beat(self) -> None:
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._beating.wait(), self.lease_seconds / 3)
                return  # stop() was called
            now = time.time()
            held = set(self.held)
            stored = await retrying(
                self.store,
                "renew leases",
                partial(
                    self.store.heartbeat,
                    self.id,
                    now=now,
                    lease_until=now + self.lease_seconds,
                    attempt_ids=held,
                ),
            )
            if stored == "draining" and not self._stopping:
                log.info("worker %s: drain requested; finishing in-flight work", self.id)
                self.request_stop(immediate=False)
            await self._housekeeping()

    async def _housekeeping(self) -> None:
        """Work done on every heartbeat besides renewing leases (none when driving a run)."""

    def request_stop(self, *, immediate: bool) -> None:
        """Stop claiming (drain); with ``immediate``, also cancel in-flight attempts."""
        self._stopping = True
        if immediate:
            for task in list(self._tasks):
                task.cancel()
        self._changed.set()

    # -- executing ------------------------------------------------------------------------

    def _spawn(self, rc: RunContext, a: AttemptRecord) -> None:
        self._chains[rc.run_id] += 1
        task = asyncio.create_task(self._chain(rc, a))
        self._tasks[task] = rc.run_id
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        self._changed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("attempt task crashed", exc_info=task.exception())

    async def _chain(self, rc: RunContext, a: AttemptRecord | None) -> None:
        # Runs one attempt, then (in this same task) the first attempt its commit claimed:
        # a chain of steps needs no new task per step.
        try:
            await self._steps(rc, a)
        finally:
            self._chains[rc.run_id] -= 1
            last = self._chains[rc.run_id] <= 0
            if last:
                del self._chains[rc.run_id]
        if last:
            await self._run_idle(rc)

    async def _run_idle(self, rc: RunContext) -> None:
        """No attempt of ``rc``'s run is in flight here any more (the driver settles it)."""

    async def _steps(self, rc: RunContext, a: AttemptRecord | None) -> None:
        while a is not None:
            try:
                claimed = await execute(
                    rc, a, store=self.store, worker_id=self.id, finish=self._finisher(rc, a)
                )
            except IllegalTransition as exc:
                log.warning(
                    "result refused: %s",
                    exc,
                    extra={"event": "attempt.fenced", "run_id": rc.run_id},
                )
                claimed = []
            except StoreUnavailable as exc:
                # execute() retries every store call, so this is a bug; still never the
                # step's failure: its lease lapses and the attempt runs again.
                log.error(
                    "lost the database outside a retried call; %s attempt %d will run again "
                    "once its lease expires: %s",
                    a.step_id,
                    a.number,
                    exc,
                    extra={"event": "store.unavailable", "run_id": rc.run_id},
                )
                claimed = []
            finally:
                self._released(a)
            for extra in claimed[1:]:
                self._spawn(rc, extra)
            a = claimed[0] if claimed else None
            if self._stopping and a is not None:
                # Stopping: hand claimed-but-unstarted attempts back.
                await self._unclaim([a])
                a = None

    async def _settle_once(self, rc: RunContext) -> RunStatus | float:
        async with self.store.transaction() as tx:
            return await settle(tx, rc, poll_interval=self.poll_interval)

    async def _unclaim(self, attempts: list[AttemptRecord]) -> None:
        async def once() -> None:
            async with self.store.transaction() as tx:
                for a in attempts:
                    await tx.transition(a.id, a.state, A.ABANDONED, reason="worker stopping")
                await reopen(tx, attempts, reason="resumed")

        await retrying(self.store, "hand back unstarted work", once)
        for a in attempts:
            self._released(a)

    # -- driving one run (in-process) ----------------------------------------------------

    async def drive(self, rc: RunContext) -> RunStatus:
        """Execute ``rc``'s run until it finishes, waits for approval, or is cancelled."""
        for a in await self._claim_run(rc, self.concurrency):
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
            outcome = await retrying(self.store, "settle the run", lambda: self._settle_once(rc))
            if isinstance(outcome, RunStatus):
                return outcome
            await self._wait(None, outcome)
            await self._poll(rc)

    async def _poll(self, rc: RunContext) -> None:
        """Notice outside changes: a cancel, or work made ready by another process."""
        # The status alone: the run's row also holds its whole spec, read here every poll.
        status = await retrying(
            self.store, "read the run", lambda: self.store.run_status(rc.run_id)
        )
        if status is RunStatus.CANCELLED:
            self.request_stop(immediate=True)
            return
        for a in await self._claim_run(rc, self.concurrency - self._active):
            self._spawn(rc, a)

    async def _interrupted(self, rc: RunContext) -> RunStatus:
        async def write(tx: Transaction) -> RunStatus:
            status = await tx.run_status(rc.run_id)
            if status in (RunStatus.RUNNING, RunStatus.WAITING):
                await cancel_in_tx(tx, rc.run_id, reason="interrupted")
                return RunStatus.CANCELLED
            return status

        return await transact(self.store, "record the interruption", write)

    async def _wait(self, signal: asyncio.Event | None, timeout: float) -> None:
        """Sleep until a slot frees, another process signals work, or ``timeout`` passes."""
        waiters = [asyncio.ensure_future(self._changed.wait())]
        if signal is not None:
            waiters.append(asyncio.ensure_future(signal.wait()))
        _, pending = await asyncio.wait(
            waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for p in pending:
            p.cancel()
        self._changed.clear()
