"""The PostgreSQL store: psycopg 3, pooled, one database as both state and queue.

Claims use ``FOR UPDATE SKIP LOCKED``; a commit that leaves ready work behind
sends ``NOTIFY``, which idle workers ``LISTEN`` for (they also poll, so a lost
notification costs latency, never progress).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from functools import lru_cache
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from runwright.errors import MigrationError, StoreError, StoreUnavailable
from runwright.store.migrate import latest_version, migrations
from runwright.store.sql import POSTGRESQL, Row
from runwright.store.sql_store import SqlStore
from runwright.store.sql_tx import SqlTransaction

log = logging.getLogger("runwright.store")
#: The NOTIFY channel a commit uses when it leaves ready work for others.
CHANNEL = "runwright_ready"
#: Serialises schema migrations between processes starting at once.
_MIGRATION_LOCK = 7_311_995_001
DEFAULT_POOL_SIZE = 16
CONNECT_TIMEOUT = 10.0


@lru_cache(maxsize=1024)
def _pg(sql: str) -> str:
    # The shared SQL uses ``?``; psycopg wants ``%s``. No statement has a literal ? or %.
    return sql.replace("?", "%s")


#: Up to this many rows, :meth:`PgCursor.many` sends one multi-row INSERT, not a pipeline.
MULTI_ROW_MAX = 32


@lru_cache(maxsize=256)
def _multi_row(sql: str, n: int) -> str:
    """``INSERT ... VALUES (?,...) [rest]`` with its VALUES tuple repeated ``n`` times."""
    head, values, tail = sql.partition(" VALUES (")
    one, close, rest = tail.partition(")")
    if not values or not close:
        raise ValueError(f"not a one-row INSERT ... VALUES (...): {sql}")
    return _pg(f"{head} VALUES " + ",".join([f"({one})"] * n) + rest)


def describe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the PostgreSQL database"
    host = info.get("host") or "localhost"
    return f"postgresql://{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


@contextmanager
def wrap_errors(where: str) -> Iterator[None]:
    """psycopg errors as :class:`StoreError`; a lost server as :class:`StoreUnavailable`."""
    try:
        yield
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise StoreUnavailable(
            f"cannot reach PostgreSQL at {where} ({str(exc).strip() or type(exc).__name__}); "
            "check that the server runs and that RUNWRIGHT_DATABASE_URL (or --db) points at it",
            cause=str(exc),
        ) from exc
    except psycopg.Error as exc:
        raise StoreError(f"database error in {where}: {exc}", cause=str(exc)) from exc


class PgCursor:
    """The :class:`~runwright.store.sql.Cursor` seam over one psycopg connection."""

    __slots__ = ("_conn",)

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        cur = await self._conn.execute(_pg(sql), args)
        # Not cur.description: it builds a Column object per column of every result.
        result = cur.pgresult
        return await cur.fetchall() if result is not None and result.nfields else []

    async def count(self, sql: str, args: Sequence[Any] = ()) -> int:
        cur = await self._conn.execute(_pg(sql), args)
        return cur.rowcount

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if len(rows) == 1:
            # One row (a completion's one event, mostly): executemany's pipeline costs
            # ~50 us more than a plain execute, a twentieth of a fan-out step's CPU.
            await self._conn.execute(_pg(sql), rows[0])
            return
        if len(rows) <= MULTI_ROW_MAX:
            # A few rows (a group commit's events and outputs): one multi-row INSERT.
            await self._conn.execute(_multi_row(sql, len(rows)), [v for r in rows for v in r])
            return
        async with self._conn.cursor() as cur:
            await cur.executemany(_pg(sql), rows)


class PostgresStore(SqlStore):
    """Implements :class:`runwright.store.base.Store` on PostgreSQL.

    The pool opens (and the schema migrates) on first use, so constructing a
    store never blocks; a server that cannot be reached raises
    :class:`StoreUnavailable` from that first call.
    """

    def __init__(self, url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.label = describe(url)
        # Named so operators can tell our connections apart, unless the URL names them.
        self._connect_args: dict[str, Any] = {"autocommit": True}
        if "application_name" not in url:
            self._connect_args["application_name"] = "runwright"
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs=self._connect_args,
            open=False,
            timeout=CONNECT_TIMEOUT,
            name="runwright",
        )
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def _ready(self) -> None:
        if self._opened:
            return
        async with self._open_lock:
            if self._opened:
                return
            with wrap_errors(self.label):
                # One direct connection first: a refused or misconfigured server fails
                # at once with the driver's reason, not after the pool's timeout.
                probe = await psycopg.AsyncConnection.connect(
                    self.url, connect_timeout=int(CONNECT_TIMEOUT), **self._connect_args
                )
                await probe.close()
                await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
                await self._migrate()
            self._opened = True

    async def _migrate(self) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
            )
            cur = await conn.execute("SELECT version FROM schema_migrations")
            applied = {r[0] for r in await cur.fetchall()}
            if applied and max(applied) > latest_version("postgresql"):
                raise MigrationError(
                    f"{self.label} was written by a newer runwright (schema v{max(applied)}); "
                    "upgrade runwright to use it"
                )
            for m in migrations("postgresql"):
                if m.version in applied:
                    continue
                for statement in m.statements:
                    await conn.execute(statement.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES (%s,%s,%s)",
                    (m.version, m.name, time.time()),
                )

    async def schema_version(self) -> int:
        rows = await self._rows("SELECT MAX(version) FROM schema_migrations")
        return int(rows[0][0] or 0)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        await self._ready()
        with wrap_errors(self.label):
            async with self._pool.connection() as conn, conn.transaction():
                tx = SqlTransaction(PgCursor(conn), POSTGRESQL)
                yield tx
                await tx.flush()
                if tx.wakes_others:
                    # Delivered at commit, and only if the commit happens.
                    # The payload names the schema: databases shared by several
                    # runwright schemas (one per tenant, or per test) wake only their own.
                    await conn.execute("SELECT pg_notify(%s, current_schema())", (CHANNEL,))

    async def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        await self._ready()
        with wrap_errors(self.label):
            async with self._pool.connection() as conn:
                return await PgCursor(conn).rows(sql, args)

    # -- wake-ups --------------------------------------------------------------------------

    def work_signal(self) -> asyncio.Event:
        """Set when another process may have made work ready; the caller clears it.

        Starts the LISTEN connection on first call; while it is down, the event is
        simply not set and callers fall back to polling.
        """
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
        return self._wake

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, **self._connect_args
                ) as conn:
                    rows = await (await conn.execute("SELECT current_schema()")).fetchall()
                    schema = rows[0][0]
                    await conn.execute(f"LISTEN {CHANNEL}")
                    delay = 0.1
                    self._wake.set()  # work may have arrived while we were not listening
                    async for notice in conn.notifies():
                        if notice.payload == schema:
                            self._wake.set()
            except psycopg.Error as exc:
                log.warning(
                    "lost the LISTEN connection to %s (%s); polling until it is back (retry in "
                    "%.1fs)",
                    self.label,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def reset_connections(self) -> None:
        """Drop pooled connections that died (server restart, terminated backend)."""
        if self._opened:
            with suppress(psycopg.Error):
                await self._pool.check()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self._pool.close()
