"""for_each items committed as a group (`succeed_items`), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from storetools import by_id, claim, raw, seed

from runwright.errors import IllegalTransition
from runwright.states import AttemptState
from runwright.store.records import AttemptRecord, NewAttempt
from runwright.store.sql_store import SqlStore

A = AttemptState


async def _items_running(store: SqlStore, n: int) -> tuple[AttemptRecord, list[AttemptRecord]]:
    """A parent expanded into ``n`` items, each claimed and started by worker w1."""
    await seed(store, "r1", ["each"])
    [parent] = await claim(store, "w1", start={"each"})
    async with store.transaction() as tx:
        await tx.expand(parent.id, n)
        await tx.insert_attempts(
            [NewAttempt("r1", "each", 1, A.READY, item=i, payload=str(i)) for i in range(n)]
        )
    items = await claim(store, "w1", start_items={"each"})
    assert [(a.item, a.state) for a in items] == [(i, A.RUNNING) for i in range(n)]
    return parent, items


async def test_a_group_of_items_succeeds_in_one_go_and_counts_on_its_parent(
    store: SqlStore,
) -> None:
    parent, items = await _items_running(store, 4)
    group = [(a.id, a.item, f'{{"n": {a.item * 10}}}') for a in items[:3]]
    async with store.transaction() as tx:
        counted = await tx.succeed_items("r1", "each", group, worker_id="w1", at=1234.5)
    assert counted is not None and (counted.id, counted.waiting_on) == (parent.id, 1)
    after = await by_id(store, "r1")
    assert [(after[a.id].state, after[a.id].finished_at) for a in items] == [
        (A.SUCCEEDED, 1234.5),
        (A.SUCCEEDED, 1234.5),
        (A.SUCCEEDED, 1234.5),
        (A.RUNNING, None),
    ]
    async with store.transaction() as tx:
        assert await tx.item_outputs("r1", "each") == [{"n": 0}, {"n": 10}, {"n": 20}, None]
        # The last item alone, as a lone item commits: the parent's count reaches zero.
        last = items[3]
        await tx.transition(last.id, A.RUNNING, A.SUCCEEDED, worker_id="w1")
        done = await tx.count_item("r1", "each")
    assert done is not None and done.waiting_on == 0


async def test_a_group_with_one_fenced_item_writes_nothing(store: SqlStore) -> None:
    parent, items = await _items_running(store, 3)
    # Item 1's lease expired and another worker holds it now.
    await raw(store, "UPDATE attempts SET worker_id='w2' WHERE id=?", (items[1].id,))
    group = [(a.id, a.item, "1") for a in items]
    with pytest.raises(IllegalTransition, match=r"1 of attempts .* no longer running under w1"):
        async with store.transaction() as tx:
            await tx.succeed_items("r1", "each", group, worker_id="w1", at=1.0)
    after = await by_id(store, "r1")
    assert [after[a.id].state for a in items] == [A.RUNNING] * 3
    assert after[parent.id].waiting_on == 3
    async with store.transaction() as tx:
        assert await tx.item_outputs("r1", "each") == [None, None, None]
