"""The SQLite store on real files: migrations, concurrency, error translation."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from runwright.errors import MigrationError, StoreError
from runwright.events import Event, EventType
from runwright.states import RunStatus
from runwright.store.migrate import latest_version, migrations
from runwright.store.records import RunRecord
from runwright.store.sqlite import SqliteStore


def test_replayed_migrations_equal_the_declared_schema(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    assert store.schema_version() == latest_version("sqlite") >= 1
    declared = sqlite3.connect(":memory:")
    for m in migrations("sqlite"):
        declared.executescript(m.sql)
    replayed = sqlite3.connect(tmp_path / "a.db")
    query = (
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        " AND name != 'schema_migrations' ORDER BY name"
    )
    assert replayed.execute(query).fetchall() == declared.execute(query).fetchall()
    SqliteStore(tmp_path / "a.db")  # reopening applies nothing twice
    assert replayed.execute("SELECT COUNT(*) FROM schema_migrations").fetchone() == (
        len(migrations("sqlite")),
    )


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "a.db")
    db = sqlite3.connect(tmp_path / "a.db")
    db.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
    db.commit()
    with pytest.raises(MigrationError, match="newer runwright"):
        SqliteStore(tmp_path / "a.db")


def test_corrupted_file_is_a_store_error_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="not a usable runwright database"):
        SqliteStore(path)
    assert path.read_bytes() == garbage


def test_lock_held_past_busy_timeout_is_a_clear_error(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "a.db")
    holder = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    store = SqliteStore.__new__(SqliteStore)
    with pytest.raises(StoreError, match="locked by another process"):
        SqliteStore.__init__(store, tmp_path / "a.db", busy_timeout_ms=50)
    holder.execute("ROLLBACK")


async def test_concurrent_readers_and_a_writer_never_see_locked(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    writer = SqliteStore(path)
    now = time.time()
    async with writer.transaction() as tx:
        await tx.insert_run(RunRecord("r", "p", "h", "s", None, {}, RunStatus.RUNNING, now, now))
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        reader = SqliteStore(path)
        try:
            while not stop.is_set():
                asyncio.run(reader.events("r", limit=10))
                asyncio.run(reader.list_runs())
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(300):
        async with writer.transaction() as tx:
            await tx.add_events([Event(EventType.STEP_STARTED, "r", f"s{i}")])
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert len(await writer.events("r", limit=1000)) == 300


async def test_level_filter_pages_past_batches_without_matches(tmp_path: Path) -> None:
    # `tail --level error` pages with `after`; a page of only info events must not end it.
    from runwright.events import Level

    store = SqliteStore(tmp_path / "a.db")
    async with store.transaction() as tx:
        await tx.add_events([Event(EventType.STEP_LOG, "r", "s") for _ in range(20)])
        await tx.add_events([Event(EventType.STEP_FAILED, "r", "s", level=Level.ERROR)])
    page = await store.events("r", limit=5, min_level=Level.ERROR.rank)
    assert [e.type for e in page] == [EventType.STEP_FAILED]
