"""The Store protocol on both databases: the process group an attempt started (migration 0004)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from storetools import A, claim, seed

from runwright.errors import IllegalTransition
from runwright.store import open_store
from runwright.store.records import NO_ITEM, AttemptProcess
from runwright.store.sql_store import SqlStore

GROUP = '{"pgid": 4242, "host": "h", "start": 7, "boot": "b"}'


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    s = open_store(db_url)
    assert isinstance(s, SqlStore)
    try:
        yield s
    finally:
        await s.close()


async def test_only_the_holder_records_a_process_group(store: SqlStore) -> None:
    await seed(store)
    [a] = await claim(store, "w1")
    async with store.transaction() as tx:
        await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id="w1")
        await tx.record_process(a.id, GROUP, worker_id="w1")
    with pytest.raises(IllegalTransition, match="no longer running under w2"):
        async with store.transaction() as tx:
            await tx.record_process(a.id, GROUP, worker_id="w2")
    async with store.transaction() as tx:
        await tx.transition(a.id, A.RUNNING, A.SUCCEEDED, worker_id="w1")
    # Finished: too late to record anything (the caller must stop what it started).
    with pytest.raises(IllegalTransition):
        async with store.transaction() as tx:
            await tx.record_process(a.id, GROUP, worker_id="w1")


async def test_abandoned_attempts_give_their_process_groups_to_the_rerun(store: SqlStore) -> None:
    await seed(store, steps=("a", "b"))
    first = {x.step_id: x for x in await claim(store, "w1")}
    async with store.transaction() as tx:
        for x in first.values():
            await tx.transition(x.id, A.LEASED, A.RUNNING, worker_id="w1")
        await tx.record_process(first["a"].id, GROUP, worker_id="w1")
        # Not abandoned (yet): nothing for a re-run to check.
        assert await tx.abandoned_processes("r1", "a", NO_ITEM, before=2) == []
    async with store.transaction() as tx:
        for x in first.values():
            await tx.transition(x.id, A.RUNNING, A.ABANDONED, reason="process died")
        await tx.reopen([x.id for x in first.values()], "resumed")
    async with store.transaction() as tx:
        assert await tx.abandoned_processes("r1", "a", NO_ITEM, before=2) == [
            AttemptProcess(1, "w1", GROUP)
        ]
        assert await tx.abandoned_processes("r1", "a", NO_ITEM, before=1) == []
        assert await tx.abandoned_processes("r1", "b", NO_ITEM, before=2) == []  # none recorded
        assert await tx.abandoned_processes("r1", "a", 0, before=2) == []  # another item
