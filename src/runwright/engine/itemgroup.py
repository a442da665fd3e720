"""Group commit of for_each items: items that finish together commit in one transaction.

Every item's commit counts it on its parent attempt, one row shared by all items
of the step: on PostgreSQL, the commits of several workers queue for that row's
lock, and each commit is a handful of statements. So a worker keeps one item commit
per run in flight; items of that run that finish meanwhile wait for it, then commit
together as the next group, led by the first of them (in its own task: no task is
added), in one transaction of a few statements whatever its size
(:meth:`~runwright.store.base.Transaction.succeed_items`). A commit that finds none
in flight waits :data:`GATHER_TURNS` turns of the event loop first, so the items
claimed with it, which finish a few turns apart, join it (on SQLite, whose commits
never yield, that is the only way items group).

Nothing is promised earlier than before: an item's dependents still see it only
once its group committed, and a crash loses a whole uncommitted group, each member
of which then runs again, as a lone uncommitted item would. If the group's
transaction fails for any reason but a lost database (which is waited out and
retried whole), every member commits alone instead, so that one fenced item
(its lease expired and it ran elsewhere) is refused without the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from runwright.engine.commit import Committer
from runwright.events import Event
from runwright.store.base import Transaction
from runwright.store.records import AttemptRecord, LogChunk


@dataclass(frozen=True, slots=True)
class ItemSuccess:
    """A running for_each item's success: a write alone, or one member of a group."""

    committer: Committer
    attempt: AttemptRecord
    output_json: str
    events: Sequence[Event]
    logs: Sequence[LogChunk]
    worker_id: str

    async def __call__(self, tx: Transaction) -> None:
        if self.logs:
            await tx.add_log_chunks(self.logs)
        await self.committer.succeed(
            tx, self.attempt, self.output_json, self.events, worker_id=self.worker_id
        )


async def write_group(tx: Transaction, members: Sequence[ItemSuccess]) -> None:
    """Write every member's success in ``tx``, as each member's own write would."""
    logs = [chunk for m in members for chunk in m.logs]
    if logs:
        await tx.add_log_chunks(logs)
    await members[0].committer.succeed_items(
        tx, [(m.attempt, m.output_json, m.events) for m in members], worker_id=members[0].worker_id
    )


#: Event-loop turns a commit waits for other items of its run before it starts.
GATHER_TURNS = 3
#: Commits members in one transaction; returns every attempt that transaction claimed.
Together = Callable[[list[ItemSuccess]], Awaitable[list[AttemptRecord]]]
#: Commits one member in a transaction of its own; returns the attempts it claimed.
Alone = Callable[[ItemSuccess], Awaitable[list[AttemptRecord]]]
_Waiter = tuple[ItemSuccess, "asyncio.Future[list[AttemptRecord] | _Lead]"]


class _Lead:
    """Handed to a waiting member: commit this group (you first), then pass the lead on."""

    __slots__ = ("group",)

    def __init__(self, group: list[_Waiter]) -> None:
        self.group = group


class ItemGroups:
    """One worker's item commits in flight, one per run, with the items waiting behind it."""

    def __init__(self) -> None:
        #: Run id -> members waiting for the commit in flight (present: one is in flight).
        self._waiting: dict[str, list[_Waiter]] = {}
        #: (transactions, members) committed so far: how well items group.
        self.committed = [0, 0]

    async def commit(
        self, run_id: str, member: ItemSuccess, together: Together, alone: Alone
    ) -> list[AttemptRecord]:
        """Commit ``member``'s success, with whatever else of the run finishes meanwhile."""
        waiting = self._waiting.get(run_id)
        if waiting is None:
            waiting = self._waiting[run_id] = []
            # Done already, as a leader's own future is: only waiting ones are handed on.
            mine: asyncio.Future[list[AttemptRecord] | _Lead] = (
                asyncio.get_running_loop().create_future()
            )
            mine.set_result(_Lead([]))
            try:
                # A few turns of the loop first: items claimed together finish within a
                # few turns of each other (their last awaits), and join this group rather
                # than wait for the next (bench/README.md: 1 turn 1,399-1,501 steps/s with
                # one worker, 3 turns 2,038-2,344).
                for _ in range(GATHER_TURNS):
                    await asyncio.sleep(0)
            except asyncio.CancelledError:
                self._hand_on(run_id, [])
                raise
            group: list[_Waiter] = [(member, mine), *waiting]
            waiting.clear()
        else:
            mine = asyncio.get_running_loop().create_future()
            waiting.append((member, mine))
            try:
                outcome = await mine
            except asyncio.CancelledError:
                if mine.done() and not mine.cancelled():
                    handed = mine.result()
                    if isinstance(handed, _Lead):  # the lead came as we were cancelled
                        self._hand_on(run_id, handed.group[1:])
                raise
            if not isinstance(outcome, _Lead):
                return outcome
            group = outcome.group
        return await self._lead(run_id, group, together, alone)

    async def _lead(
        self, run_id: str, group: list[_Waiter], together: Together, alone: Alone
    ) -> list[AttemptRecord]:
        live = [group[0], *(w for w in group[1:] if not w[1].done())]
        try:
            outcomes = await self._commit([m for m, _ in live], together, alone)
        except BaseException:
            # Cancelled (or worse) before the others learnt their outcome: they commit
            # themselves, behind a new leader.
            self._hand_on(run_id, live[1:])
            raise
        for (_, waiter), outcome in zip(live[1:], outcomes[1:], strict=True):
            if waiter.done():
                continue
            if isinstance(outcome, BaseException):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)
        self._hand_on(run_id, [])
        first = outcomes[0]
        if isinstance(first, BaseException):
            raise first
        return first

    def _hand_on(self, run_id: str, pending: list[_Waiter]) -> None:
        """Give the lead of ``pending`` and of those queued since to the first still waiting."""
        queued = self._waiting.get(run_id, [])
        waiters = [w for w in (*pending, *queued) if not w[1].done()]
        queued.clear()
        if waiters:
            waiters[0][1].set_result(_Lead(waiters))
        else:
            self._waiting.pop(run_id, None)

    async def _commit(
        self, members: list[ItemSuccess], together: Together, alone: Alone
    ) -> list[list[AttemptRecord] | Exception]:
        if len(members) > 1:
            try:
                claimed = await together(members)
            except Exception:  # each member alone then says which one it was
                pass
            else:
                self.committed[0] += 1
                self.committed[1] += len(members)
                # One claimed attempt for each member's chain; the leader spawns the rest.
                lead = [*claimed[:1], *claimed[len(members) :]]
                rest = [[claimed[i]] if i < len(claimed) else [] for i in range(1, len(members))]
                return [lead, *rest]
        outcomes: list[list[AttemptRecord] | Exception] = []
        for m in members:
            try:
                outcomes.append(await alone(m))
                self.committed[0] += 1
                self.committed[1] += 1
            except Exception as exc:  # handed to that member's own task, which raises it
                outcomes.append(exc)
        return outcomes
