"""Claiming ready attempts and committing outcomes: the transactional half of a worker.

Every commit of an outcome also claims the run's next ready attempts (up to the
slots it frees), so a chain of steps costs one transaction per step; for_each items
finishing together commit together (:mod:`runwright.engine.itemgroup`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial

from runwright.engine.attempt import started_data
from runwright.engine.commit import attempt_event
from runwright.engine.context import RunContext
from runwright.engine.faults import Fault, FaultPoint
from runwright.engine.itemgroup import ItemGroups, ItemSuccess, write_group
from runwright.engine.resilience import retrying
from runwright.events import EventType
from runwright.states import AttemptState
from runwright.store.base import Store, Transaction
from runwright.store.records import NO_ITEM, AttemptRecord

A = AttemptState


class Claiming:
    """Claims and commits for :class:`~runwright.engine.worker.Worker` (which sets these)."""

    store: Store
    fault: Fault | None
    concurrency: int
    lease_seconds: float
    id: str
    held: set[int]
    item_groups: ItemGroups
    _active: int
    _stopping: bool
    _label_keys: list[str] | None

    def _took(self, claimed: list[AttemptRecord]) -> None:
        # Counted only after the claiming transaction committed: a retried commit
        # must not count its claims twice.
        self._active += len(claimed)
        self.held.update(a.id for a in claimed)

    def _released(self, a: AttemptRecord) -> None:
        self._active -= 1
        self.held.discard(a.id)

    async def _claim_in(self, tx: Transaction, rc: RunContext, limit: int) -> list[AttemptRecord]:
        if self._stopping or limit <= 0:
            return []
        now = time.time()
        plan = rc.plan
        # Name the shorter list in the claim: most steps of most runs start when claimed.
        held = plan.held_start if len(plan.held_start) < len(plan.direct_start) else None
        claimed = await tx.claim(
            worker_id=self.id,
            limit=limit,
            now=now,
            lease_until=now + self.lease_seconds,
            run_id=rc.run_id,
            start=plan.direct_start,
            start_items=plan.direct_start_items,
            labels=self._label_keys,
            hold=held,
        )
        started = [
            attempt_event(a, EventType.STEP_STARTED, started_data(rc, a))
            for a in claimed
            if a.state is A.RUNNING
        ]
        if started:
            await tx.add_events(started)
        return claimed

    async def _claim_run(self, rc: RunContext, limit: int) -> list[AttemptRecord]:
        async def once() -> list[AttemptRecord]:
            async with self.store.transaction() as tx:
                claimed = await self._claim_in(tx, rc, limit)
            self._took(claimed)
            return claimed

        return await retrying(self.store, "claim work", once)

    def _finisher(
        self, rc: RunContext, a: AttemptRecord
    ) -> Callable[..., Awaitable[list[AttemptRecord]]]:
        async def finish(write: Callable[[Transaction], Awaitable[None]]) -> list[AttemptRecord]:
            if isinstance(write, ItemSuccess):
                return await self.item_groups.commit(
                    rc.run_id,
                    write,
                    partial(self._commit_items, rc),
                    lambda m: self._commit(rc, m.attempt, m),
                )
            return await self._commit(rc, a, write)

        return finish

    async def _commit(
        self, rc: RunContext, a: AttemptRecord, write: Callable[[Transaction], Awaitable[None]]
    ) -> list[AttemptRecord]:
        """Commit ``a``'s outcome (``write``) with a claim of the run's next ready work."""
        # A for_each item's commit ends by counting itself on its parent, and a step all
        # of whose dependents are joins by releasing them: rows that every item, or every
        # sibling, updates. Claim first so those rows stay locked for as short as possible.
        # (Such a commit readies work only when it is the last one, and that work is then
        # claimed by whoever comes next, woken if need be: see `wakes_others`.)
        claim_first = a.item != NO_ITEM or rc.plan.steps[a.step_id].joins_only

        async def once() -> list[AttemptRecord]:
            # This attempt's slot frees as it commits, so it may claim one more.
            limit = self.concurrency - self._active + 1
            async with self.store.transaction() as tx:
                if claim_first:
                    claimed = await self._claim_in(tx, rc, limit)
                    await write(tx)
                else:
                    await write(tx)
                    claimed = await self._claim_in(tx, rc, limit)
                if self.fault is not None:
                    self.fault.hit(FaultPoint.DURING_COMMIT, a)
            if self.fault is not None:
                self.fault.hit(FaultPoint.AFTER_COMMIT, a)
            self._took(claimed)
            return claimed

        return await retrying(self.store, "commit a step result", once)

    async def _commit_items(
        self, rc: RunContext, members: list[ItemSuccess]
    ) -> list[AttemptRecord]:
        """Commit for_each items' successes in one transaction (see :mod:`.itemgroup`)."""

        async def once() -> list[AttemptRecord]:
            # Each member's slot frees as the group commits.
            limit = self.concurrency - self._active + len(members)
            async with self.store.transaction() as tx:
                claimed = await self._claim_in(tx, rc, limit)
                await write_group(tx, members)
                for m in members:
                    if self.fault is not None:
                        self.fault.hit(FaultPoint.DURING_COMMIT, m.attempt)
            for m in members:
                if self.fault is not None:
                    self.fault.hit(FaultPoint.AFTER_COMMIT, m.attempt)
            self._took(claimed)
            return claimed

        return await retrying(self.store, "commit step results", once)
