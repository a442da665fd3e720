"""The embedded SQLite store: WAL, a busy timeout, one writer, short transactions.

Several processes may share one file (``runwright worker`` next to ``runwright
run``): SQLite serialises their writes, so throughput is that of one writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Literal

from runwright.errors import DatabaseMissing, MigrationError, StoreError
from runwright.store.migrate import latest_version, migrations
from runwright.store.sql import SQLITE, Row
from runwright.store.sql_store import SqlStore
from runwright.store.sql_tx import SqlTransaction

Synchronous = Literal["normal", "full"]
DEFAULT_BUSY_TIMEOUT_MS = 10_000


ELSEWHERE = "pass --db PATH or set RUNWRIGHT_DATABASE_URL to keep the database elsewhere"


def _unwritable(path: str, why: str) -> StoreError:
    return StoreError(
        f"cannot write the runwright database {path}: {why}; run where you may write, "
        f"or {ELSEWHERE}",
        cause=why,
    )


@contextmanager
def wrap_errors(path: str) -> Iterator[None]:
    """Translate sqlite3 errors into :class:`StoreError` with a message that says what to do."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "unable to open" in text or "readonly" in text or "read-only" in text:
            raise _unwritable(path, text) from exc
        if "locked" in text or "busy" in text:
            raise StoreError(
                f"the database {path} is locked by another process and stayed locked past the "
                f"busy timeout; wait for it to finish or stop it, then retry",
                cause=text,
            ) from exc
        raise StoreError(f"database error in {path}: {text}", cause=text) from exc
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path} is not a usable runwright database ({exc}); it may be corrupted or not a "
            f"SQLite file. Move it aside to start afresh, or point --db at another file",
            cause=str(exc),
        ) from exc


def _make_parent(path: str) -> None:
    parent = Path(path).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        if isinstance(exc, FileExistsError) or (parent.exists() and not parent.is_dir()):
            why = "a file of that name is in the way"
        raise StoreError(
            f"cannot create the directory {parent} for the runwright database: {why}; "
            f"run where you may write, or {ELSEWHERE}",
            cause=str(exc),
        ) from exc


@contextmanager
def _missing(path: str, create: bool) -> Iterator[None]:
    """Without ``create``, a file that is not there is :class:`DatabaseMissing`."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if create or Path(path).exists():
            raise
        raise DatabaseMissing(
            f"there is no runwright database at {path} (nothing ran with it yet; none was "
            "created); pass --db PATH or set RUNWRIGHT_DATABASE_URL to read another database"
        ) from exc


class SqliteCursor:
    """The :class:`~runwright.store.sql.Cursor` seam over one sqlite3 connection.

    ``async`` only to fit the seam: the calls never suspend, because SQLite work is
    short and local and a thread hop would cost more than the query.
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, args).fetchall()

    async def count(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, args).rowcount

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)


def _enter_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL, waiting out a writer as the busy timeout would.

    On a file still in rollback-journal mode (a new one, while another process
    creates the schema) SQLite answers the switch with SQLITE_BUSY at once and never
    calls its busy handler, so two workers started together on a new file would
    fail; we retry until ``timeout``, then let the error through.
    """
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.05)


class SqliteStore(SqlStore):
    """Implements :class:`runwright.store.base.Store` on one SQLite file (or ``:memory:``)."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Synchronous = "normal",
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        create: bool = True,
    ) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self.label = self.path
        self.synchronous = synchronous
        target: str = self.path
        if self.path != ":memory:":
            if create:
                _make_parent(self.path)
            else:
                # mode=rw opens an existing file and never creates one (no race with a check).
                target = f"{Path(self.path).absolute().as_uri()}?mode=rw"
        with wrap_errors(self.path), _missing(self.path, create):
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes
            # the lock up front instead of failing on upgrade mid-transaction.
            self._conn = sqlite3.connect(
                target,
                isolation_level=None,
                check_same_thread=False,
                timeout=busy_timeout_ms / 1000,
                uri=target != self.path,
            )
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            _enter_wal(self._conn, busy_timeout_ms / 1000)
            self._conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._conn.execute("PRAGMA foreign_keys=OFF")
            self._migrate()
        self._tx = SqlTransaction(SqliteCursor(self._conn), SQLITE)
        self._lock = asyncio.Lock()

    def _migrate(self) -> None:
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            applied = {r[0] for r in c.execute("SELECT version FROM schema_migrations")}
            if applied and max(applied) > latest_version("sqlite"):
                raise MigrationError(
                    f"{self.path} was written by a newer runwright (schema v{max(applied)}); "
                    "upgrade runwright to open it"
                )
            for m in migrations("sqlite"):
                if m.version in applied:
                    continue
                for statement in m.statements:
                    c.execute(statement)
                c.execute(
                    "INSERT INTO schema_migrations VALUES (?,?,?)", (m.version, m.name, time.time())
                )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        row = self._conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        async with self._lock:
            with wrap_errors(self.path):
                self._conn.execute("BEGIN IMMEDIATE")
                tx = self._tx
                tx.made_ready = 0
                tx.claimed_all = False
                tx.ready_at_claim = None
                try:
                    yield tx
                    await tx.flush()
                except BaseException:
                    tx.discard()
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")

    async def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with wrap_errors(self.path):
            return self._conn.execute(sql, args).fetchall()

    async def close(self) -> None:
        self._conn.close()
