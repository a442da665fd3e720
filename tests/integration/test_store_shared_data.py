"""The Store protocol on both databases: events, outputs and blobs, cache, migrations."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import cast

import psycopg
import pytest
from storetools import A, raw, run_record, seed

from runwright.errors import MigrationError, NotFoundError
from runwright.events import Event, EventType, Level
from runwright.store import Store, open_store
from runwright.store.migrate import latest_version, migrations
from runwright.store.records import NewAttempt
from runwright.store.sql import BLOB_THRESHOLD
from runwright.store.sql_store import SqlStore

# -- events ------------------------------------------------------------------------------


async def test_events_page_with_after_and_filter_by_type_step_and_level(store: SqlStore) -> None:
    E = EventType
    async with store.transaction() as tx:
        await tx.add_events(
            [
                Event(E.RUN_STARTED, "r1", data={"n": 0}),
                Event(E.STEP_STARTED, "r1", "a", attempt=1, item=2, data={"n": 1}),
                Event(E.STEP_LOG, "r1", "a", level=Level.DEBUG, data={"n": 2}),
                Event(E.STEP_RETRYING, "r1", "b", level=Level.WARNING, data={"n": 3}),
                Event(E.STEP_FAILED, "r1", "b", level=Level.ERROR, data={"n": 4}),
                Event(E.STEP_STARTED, "r2", "a", data={"n": 5}),
            ]
        )
    every = await store.events("r1")
    assert [e.data["n"] for e in every] == [0, 1, 2, 3, 4]
    seqs = [e.seq or 0 for e in every]
    assert 0 not in seqs and seqs == sorted(set(seqs))
    second = every[1]
    assert (second.type, second.step_id, second.attempt, second.item, second.level) == (
        E.STEP_STARTED,
        "a",
        1,
        2,
        Level.INFO,
    )
    page1 = await store.events("r1", limit=2)
    page2 = await store.events("r1", after=page1[-1].seq or 0, limit=2)
    page3 = await store.events("r1", after=page2[-1].seq or 0, limit=2)
    assert [e.data["n"] for e in page1 + page2 + page3] == [0, 1, 2, 3, 4]
    assert await store.events("r1", after=every[-1].seq or 0) == []
    by_type = await store.events("r1", types=[E.STEP_STARTED, E.STEP_FAILED])
    assert [e.data["n"] for e in by_type] == [1, 4]
    assert [e.data["n"] for e in await store.events("r1", step_id="b")] == [3, 4]
    warn = Level.WARNING.rank
    assert [e.data["n"] for e in await store.events("r1", min_level=warn)] == [3, 4]
    both = await store.events("r1", step_id="a", types=[E.STEP_LOG], min_level=Level.DEBUG.rank)
    assert [e.data["n"] for e in both] == [2]
    assert [e.data["n"] async for e in store.iter_events("r1")] == [0, 1, 2, 3, 4]


async def test_level_filter_pages_past_batches_without_matches(store: SqlStore) -> None:
    # `tail --level error` pages with `after`; a page of only info events must not end it.
    async with store.transaction() as tx:
        await tx.add_events([Event(EventType.STEP_LOG, "r", "s") for _ in range(20)])
        await tx.add_events([Event(EventType.STEP_FAILED, "r", "s", level=Level.ERROR)])
    page = await store.events("r", limit=5, min_level=Level.ERROR.rank)
    assert [e.type for e in page] == [EventType.STEP_FAILED]


# -- outputs and blobs -------------------------------------------------------------------


async def test_small_outputs_inline_large_ones_in_one_blob(store: SqlStore) -> None:
    [a] = await seed(store, "r1", ["a"])
    big = {"text": "é" + "x" * BLOB_THRESHOLD}
    big_json = json.dumps(big)
    async with store.transaction() as tx:
        await tx.put_output("r1", "small", -1, a.id, '{"v": [1, 2]}')
        await tx.put_output("r1", "big1", -1, a.id, big_json)
        await tx.put_output("r1", "big2", -1, a.id, big_json)
        await tx.cache_put("k", kind="python", value_json=big_json, run_id="r1", step_id="big1")
    assert await store.output("r1", "small", -1) == {"v": [1, 2]}
    assert await store.output("r1", "big1", -1) == await store.output("r1", "big2", -1) == big
    rows = await raw(store, "SELECT step_id, value, blob FROM outputs ORDER BY step_id")
    sha = hashlib.sha256(big_json.encode()).hexdigest()
    assert rows == [("big1", None, sha), ("big2", None, sha), ("small", '{"v": [1, 2]}', None)]
    assert await raw(store, "SELECT sha256, size FROM blobs") == [(sha, len(big_json.encode()))]
    async with store.transaction() as tx:  # a new attempt's output replaces the old one
        await tx.put_output("r1", "big1", -1, a.id + 1, '"short"')
        got = await tx.outputs("r1", [("big1", -1), ("small", -1), ("missing", -1)])
    assert got == {("big1", -1): "short", ("small", -1): {"v": [1, 2]}}
    with pytest.raises(NotFoundError, match="step 'missing' of run r1 has no output"):
        await store.output("r1", "missing", -1)


async def test_item_outputs_in_item_order(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        items = [NewAttempt("r1", "each", 1, A.READY, item=i, payload=f'"v{i}"') for i in range(3)]
        await tx.insert_attempts([NewAttempt("r1", "each", 1, A.RUNNING), *items])
        await tx.put_output("r1", "each", 2, 1, '"two"')
        await tx.put_output("r1", "each", 0, 1, json.dumps("z" * BLOB_THRESHOLD))
        assert await tx.item_outputs("r1", "each") == ["z" * BLOB_THRESHOLD, None, "two"]
        assert await tx.item_outputs("r1", "none") == []
        assert await tx.item_payload("r1", "each", 1) == '"v1"'
        assert await tx.item_payload("r1", "each", 7) is None


# -- cache -------------------------------------------------------------------------------


async def test_cache_hits_upserts_stats_and_clear_by_kind(store: SqlStore) -> None:
    async with store.transaction() as tx:
        assert await tx.cache_get("nope") is None
        await tx.cache_put("k1", kind="python", value_json='{"a": 1}', run_id="r1", step_id="s")
        await tx.cache_put("k2", kind="shell", value_json='"out"', run_id="r1", step_id="t")
        await tx.cache_put("k3", kind="shell", value_json="3", run_id="r1", step_id="u")
    for _ in range(2):
        async with store.transaction() as tx:
            hit = await tx.cache_get("k1")
    assert hit is not None and (hit.kind, hit.value, hit.run_id, hit.step_id) == (
        "python",
        {"a": 1},
        "r1",
        "s",
    )
    async with store.transaction() as tx:
        await tx.cache_put("k1", kind="python", value_json="[1, 2]", run_id="r2", step_id="s")
        again = await tx.cache_get("k1")
    assert again is not None and (again.value, again.run_id) == ([1, 2], "r2")
    stats = await store.cache_stats()
    assert (stats.entries, stats.hits, stats.by_kind) == (3, 3, {"python": 1, "shell": 2})
    assert stats.bytes == len("[1, 2]") + len('"out"') + len("3")
    assert await store.cache_clear(kind="shell") == 2
    assert (await store.cache_stats()).by_kind == {"python": 1}
    assert await store.cache_clear(kind="shell") == 0
    assert await store.cache_clear() == 1
    assert (await store.cache_stats()).entries == 0


# -- concurrency -------------------------------------------------------------------------


async def test_readers_in_other_threads_see_only_whole_commits(db_url: str) -> None:
    writer = open_store(db_url)
    async with writer.transaction() as tx:
        await tx.insert_run(run_record("r"))
    errors: list[BaseException] = []
    reads: list[int] = []
    started = threading.Barrier(4)
    stop = threading.Event()

    async def read() -> None:
        reader = open_store(db_url)
        try:
            await reader.list_runs()
            started.wait(timeout=30)
            while not stop.is_set():
                seen = len(await reader.events("r", limit=10_000))
                assert seen % 3 == 0, f"saw {seen} events: part of a commit"
                assert len(await reader.list_runs()) == 1
                reads.append(seen)
        finally:
            await reader.close()

    def thread() -> None:
        try:
            asyncio.run(read())
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=thread) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        await asyncio.to_thread(started.wait, 30)
        for i in range(200):
            async with writer.transaction() as tx:
                await tx.add_events([Event(EventType.STEP_LOG, "r", f"s{i}") for _ in range(3)])
    finally:
        stop.set()
        for t in threads:
            await asyncio.to_thread(t.join, 30)
    assert errors == []
    assert len(reads) >= 3 and len(await writer.events("r", limit=10_000)) == 600
    await writer.close()


# -- migrations --------------------------------------------------------------------------


def test_both_dialects_ship_the_same_versions() -> None:
    sqlite_versions = [(m.version, m.name) for m in migrations("sqlite")]
    assert sqlite_versions == [(m.version, m.name) for m in migrations("postgresql")]
    assert len(sqlite_versions) >= 2 and latest_version("sqlite") == latest_version("postgresql")
    versions = [v for v, _ in sqlite_versions]
    assert versions == list(range(1, len(versions) + 1))  # contiguous, from 1


async def test_both_dialects_migrate_to_the_same_tables_and_columns(
    pg_url: str, tmp_path: Path
) -> None:
    for url in (pg_url, str(tmp_path / "a.db")):
        s = open_store(url)
        await s.list_runs()
        await s.close()
    lite = sqlite3.connect(tmp_path / "a.db")
    tables = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    sqlite_columns = {t: [r[1] for r in lite.execute(f"PRAGMA table_info({t})")] for t in tables}
    lite.close()
    pg_columns: dict[str, list[str]] = {}
    with psycopg.connect(pg_url) as conn:
        for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ):
            pg_columns.setdefault(table, []).append(column)
    assert pg_columns == sqlite_columns
    assert {"runs", "attempts", "events", "schema_migrations"} <= set(pg_columns)
    assert {"labels", "ready_at", "process"} <= set(pg_columns["attempts"])  # 0002, 0004
    assert {"breakers", "rate_windows"} <= set(pg_columns)  # 0006
    assert {"patches", "trust_grants"} <= set(pg_columns)  # 0007


async def test_reopening_applies_nothing_twice(db_url: str) -> None:
    for i in range(3):
        s = cast(SqlStore, open_store(db_url))
        await seed(s, f"r{i}", ["a"])
        rows = await raw(s, "SELECT version FROM schema_migrations ORDER BY version")
        await s.close()
        assert rows == [(m.version,) for m in migrations("sqlite")]


async def test_a_newer_schema_is_refused(db_url: str) -> None:
    s = cast(SqlStore, open_store(db_url))
    async with s.transaction() as tx:
        await tx.cursor.count("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
    await s.close()
    newer: Store | None = None
    with pytest.raises(MigrationError, match=r"newer runwright \(schema v999\); upgrade"):
        newer = open_store(db_url)
        await newer.list_runs()  # PostgreSQL opens (and migrates) on first use
    if newer is not None:
        await newer.close()
