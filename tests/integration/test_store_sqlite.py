"""What only the SQLite store does: its schema file, locking and error translation.

The behaviour both databases share is tested once for both in test_store_shared*.py.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from runwright.errors import ConfigError, StoreError
from runwright.store import open_store
from runwright.store.migrate import latest_version, migrations
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


def test_a_fresh_file_being_created_by_another_process_is_waited_for(tmp_path: Path) -> None:
    # Two workers started at once on a new file: the first holds the write lock while it
    # creates the schema, still in rollback-journal mode, and SQLite answers the second's
    # switch to WAL with SQLITE_BUSY at once, without its busy handler (seen in CI).
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE first_writer (x)")
    release = threading.Timer(0.3, holder.execute, ("COMMIT",))
    release.start()
    try:
        store = SqliteStore(path, busy_timeout_ms=10_000)
    finally:
        release.join()
    assert store.schema_version() == latest_version("sqlite")
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_fresh_file_locked_past_the_busy_timeout_is_the_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    started = time.monotonic()
    with pytest.raises(StoreError, match="locked by another process"):
        SqliteStore(path, busy_timeout_ms=200)
    assert time.monotonic() - started >= 0.2  # it waited the timeout out, as for any lock
    holder.execute("ROLLBACK")


async def test_url_forms_open_one_file_that_workers_poll(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "a.db"
    for url in (f"sqlite:///{path}", str(path)):
        store = open_store(url)
        assert isinstance(store, SqliteStore) and store.path == str(path)
        assert store.work_signal() is None  # no NOTIFY: workers poll
        await store.reset_connections()  # nothing pooled: a no-op that must not fail
        await store.list_runs()
        await store.close()
    assert path.exists()
    with pytest.raises(ConfigError, match="unsupported database URL scheme 'mysql'"):
        open_store("mysql://h/db")
    with pytest.raises(ConfigError, match="synchronous must be"):
        open_store(str(path), synchronous="off")
