"""Counting a run's current attempts in SQL, on SQLite and PostgreSQL alike.

Settling a run reads this tally instead of loading every attempt, so a run of
100,000 items settles in the memory of ten.
"""

from __future__ import annotations

import time

import pytest
from storetools import A, claim, run_record

from runwright.store.records import NewAttempt
from runwright.store.sql_store import SqlStore


async def test_tally_counts_current_attempts_by_state(store: SqlStore) -> None:
    later = time.time() + 500
    async with store.transaction() as tx:
        for run_id in ("r1", "r2"):
            await tx.insert_run(run_record(run_id))
        await tx.insert_attempts(
            [
                NewAttempt("r1", "e", 1, A.READY),
                NewAttempt("r1", "a", 1, A.READY, not_before=later + 30),
                NewAttempt("r1", "b", 1, A.READY, not_before=later),
                NewAttempt("r1", "c", 1, A.PENDING, waiting_on=1),
                # A for_each parent waiting for its items: running, but no worker holds it.
                NewAttempt("r1", "p", 1, A.RUNNING),
                NewAttempt("r1", "p", 1, A.READY, item=0, not_before=later + 60),
                NewAttempt("r1", "w", 1, A.WAITING),
                NewAttempt("r2", "x", 1, A.READY, not_before=later - 400),
            ]
        )
    [e] = await claim(store, "w1", run_id="r1")
    assert e.step_id == "e"
    async with store.transaction() as tx:
        tally = await tx.tally("r1")
    assert dict(tally.counts) == {A.READY: 3, A.PENDING: 1, A.RUNNING: 1, A.WAITING: 1, A.LEASED: 1}
    assert tally.held == 1  # the leased `e`; the parent `p` holds no worker
    assert tally.next_ready == pytest.approx(later)  # b's; r2's earlier one is not r1's
    created = [a.created_at for a in await store.attempts("r1")]
    assert tally.first_created == pytest.approx(min(created))

    # A superseded attempt no longer counts: its successor does.
    async with store.transaction() as tx:
        await tx.transition(e.id, A.LEASED, A.FAILED, error="boom")
        await tx.reopen([e.id], "resumed")
        tally = await tx.tally("r1")
    assert A.FAILED not in tally.counts and A.LEASED not in tally.counts
    assert tally.counts[A.READY] == 4 and tally.held == 0
    assert tally.next_ready is not None and tally.next_ready < later


async def test_tally_of_a_run_without_attempts(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        tally = await tx.tally("r1")
    assert (dict(tally.counts), tally.held, tally.next_ready, tally.first_created) == (
        {},
        0,
        None,
        None,
    )


async def test_current_attempts_filtered_by_state(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        await tx.insert_attempts(
            [
                NewAttempt("r1", "a", 1, A.WAITING),
                NewAttempt("r1", "b", 1, A.PENDING, waiting_on=1),
                NewAttempt("r1", "c", 1, A.WAITING),
            ]
        )
        waiting = await tx.current_attempts("r1", (A.WAITING,))
        some = await tx.current_attempts("r1", [A.PENDING, A.WAITING])
        none = await tx.current_attempts("r1", ())
        every = await tx.current_attempts("r1")
    assert [a.step_id for a in waiting] == ["a", "c"]
    assert [a.step_id for a in some] == [a.step_id for a in every] == ["a", "b", "c"]
    assert none == []


async def test_attempts_filtered_by_state_and_nodes(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        await tx.insert_attempts(
            [
                NewAttempt("r1", "p", 1, A.RUNNING),
                NewAttempt("r1", "p", 1, A.FAILED, item=0),
                NewAttempt("r1", "p", 1, A.READY, item=1),
                NewAttempt("r1", "q", 1, A.FAILED),
            ]
        )
        nodes = await tx.current_attempts("r1", nodes_only=True)
        failed_nodes = await tx.current_attempts("r1", (A.FAILED,), nodes_only=True)
    assert [(a.step_id, a.item) for a in nodes] == [("p", -1), ("q", -1)]
    assert [(a.step_id, a.item) for a in failed_nodes] == [("q", -1)]
    failed = await store.attempts("r1", states=(A.FAILED,))
    assert [(a.step_id, a.item) for a in failed] == [("p", 0), ("q", -1)]
    assert await store.attempts("r1", states=()) == []
    one = await store.attempts("r1", states=(A.FAILED, A.READY), step_id="p", item=1)
    assert [(a.step_id, a.item, a.state) for a in one] == [("p", 1, A.READY)]
