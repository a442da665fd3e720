"""The Store protocol on both databases: the process group an attempt started (migration 0004)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from storetools import A, claim, raw, seed

from runwright.errors import IllegalTransition
from runwright.store import open_store
from runwright.store.migrate import migrations
from runwright.store.records import NO_ITEM, AttemptProcess
from runwright.store.sql_store import SqlStore

GROUP = '{"pgid": 4242, "host": "h", "start": 7, "boot": "b"}'


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


def _v2(dialect: str) -> list[str]:
    return [s for m in migrations(dialect) if m.version <= 2 for s in m.statements]


async def test_a_version_2_sqlite_database_migrates_to_the_process_column(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at REAL NOT NULL)"
        )
        for statement in _v2("sqlite"):
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO schema_migrations VALUES (?, ?, 0)", [(1, "initial"), (2, "distributed")]
        )
    conn.close()
    store = open_store(str(path))
    try:
        await store.list_runs()
        versions = [v for (v,) in await raw(store, "SELECT version FROM schema_migrations")]
        assert versions == [m.version for m in migrations("sqlite")]
        assert await raw(store, "SELECT process FROM attempts") == []
    finally:
        await store.close()


async def test_a_version_2_postgres_database_migrates_to_the_process_column(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at DOUBLE PRECISION NOT NULL)"
        )
        for statement in _v2("postgresql"):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations VALUES (1, 'initial', 0), (2, 'distributed', 0)"
        )
    store = open_store(pg_url)
    assert isinstance(store, SqlStore)
    try:
        await store.list_runs()
        versions = [v for (v,) in await raw(store, "SELECT version FROM schema_migrations")]
        assert sorted(versions) == [m.version for m in migrations("postgresql")]
        assert await raw(store, "SELECT process FROM attempts") == []
    finally:
        await store.close()
