"""The embedded SQLite store: WAL, a busy timeout, one writer, short transactions."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Literal

from runwright.errors import MigrationError, NotFoundError, StoreError
from runwright.events import Event, EventType, Level
from runwright.states import RunStatus
from runwright.store.migrate import latest_version, migrations
from runwright.store.records import AttemptRecord, CacheStats, RunRecord, WorkerRecord
from runwright.store.sqlite_tx import ATTEMPT_COLUMNS, SqliteTransaction, attempt_from_row

Synchronous = Literal["normal", "full"]
DEFAULT_BUSY_TIMEOUT_MS = 10_000
_RUN_COLUMNS = (
    "id, pipeline, spec_hash, spec_source, spec_path, inputs, status, created_at, updated_at,"
    " options, error, started_at, finished_at"
)


def _run_from_row(r: Any) -> RunRecord:
    return RunRecord(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        json.loads(r[5]),
        RunStatus(r[6]),
        r[7],
        r[8],
        json.loads(r[9]),
        r[10],
        r[11],
        r[12],
    )


@contextmanager
def wrap_errors(path: str) -> Iterator[None]:
    """Translate sqlite3 errors into :class:`StoreError` with a message that says what to do."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
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


class SqliteStore:
    """Implements :class:`runwright.store.base.Store` on one SQLite file (or ``:memory:``)."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Synchronous = "normal",
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self.synchronous = synchronous
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with wrap_errors(self.path):
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes
            # the lock up front instead of failing on upgrade mid-transaction.
            self._conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=busy_timeout_ms / 1000,
            )
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._conn.execute("PRAGMA foreign_keys=OFF")
            self._migrate()
        self._tx = SqliteTransaction(self._conn)
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
                for statement in m.sql.split(";"):
                    if statement.strip():
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
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        async with self._lock:
            with wrap_errors(self.path):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._tx
                    self._tx.flush()
                except BaseException:
                    self._tx.discard()
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")

    def _q(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with wrap_errors(self.path):
            return self._conn.execute(sql, args).fetchall()

    async def get_run(self, run_id: str) -> RunRecord:
        rows = self._q(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,))
        if not rows and run_id:
            rows = self._q(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                (run_id.replace("%", "\\%").replace("_", "\\_") + "%",),
            )
            if len(rows) > 1:
                raise NotFoundError(f"run id prefix {run_id!r} is ambiguous; give more characters")
        if not rows:
            raise NotFoundError(
                f"no run {run_id!r} in {self.path}; `runwright runs` lists the runs there"
            )
        return _run_from_row(rows[0])

    async def list_runs(
        self, *, limit: int = 50, status: RunStatus | None = None
    ) -> list[RunRecord]:
        where, args = ("WHERE status=?", (str(status),)) if status else ("", ())
        rows = self._q(
            f"SELECT {_RUN_COLUMNS} FROM runs {where} ORDER BY created_at DESC, id DESC LIMIT ?",
            (*args, limit),
        )
        return [_run_from_row(r) for r in rows]

    async def attempts(
        self, run_id: str, *, include_superseded: bool = True
    ) -> list[AttemptRecord]:
        extra = "" if include_superseded else " AND superseded=0"
        rows = self._q(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE run_id=?{extra} ORDER BY id", (run_id,)
        )
        return [attempt_from_row(r) for r in rows]

    async def events(
        self,
        run_id: str,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Collection[str] = (),
        step_id: str | None = None,
        min_level: int = 0,
    ) -> list[Event]:
        sql = (
            "SELECT seq, ts, level, type, step_id, item, attempt, data FROM events"
            " WHERE run_id=? AND seq>?"
        )
        args: list[Any] = [run_id, after]
        if types:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            args.extend(types)
        if step_id is not None:
            sql += " AND step_id=?"
            args.append(step_id)
        if min_level:
            # In SQL, before LIMIT: a page with no match must not end a paging reader.
            levels = [str(lv) for lv in Level if lv.rank >= min_level]
            sql += f" AND level IN ({','.join('?' * len(levels))})"
            args.extend(levels)
        rows = self._q(sql + " ORDER BY seq LIMIT ?", (*args, limit))
        events = [
            Event(
                EventType(r[3]), run_id, r[4], r[6], r[5], Level(r[2]), json.loads(r[7]), r[1], r[0]
            )
            for r in rows
        ]
        return events

    async def iter_events(self, run_id: str) -> AsyncIterator[Event]:
        after = 0
        while True:
            batch = await self.events(run_id, after=after, limit=5000)
            if not batch:
                return
            for event in batch:
                yield event
            after = batch[-1].seq or after

    async def output(self, run_id: str, step_id: str, item: int) -> Any:
        rows = self._q(
            "SELECT value, blob FROM outputs WHERE run_id=? AND step_id=? AND item=?",
            (run_id, step_id, item),
        )
        if not rows:
            raise NotFoundError(f"step {step_id!r} of run {run_id} has no output")
        return self._tx.load_value(rows[0][0], rows[0][1])

    async def cache_stats(self) -> CacheStats:
        rows = self._q(
            "SELECT kind, COUNT(*), COALESCE(SUM(size),0), SUM(hits) FROM cache GROUP BY kind"
        )
        return CacheStats(
            entries=sum(r[1] for r in rows),
            bytes=sum(r[2] for r in rows),
            hits=sum(r[3] or 0 for r in rows),
            by_kind={r[0]: r[1] for r in rows},
        )

    async def cache_clear(self, *, kind: str | None = None) -> int:
        async with self.transaction():
            where, args = ("WHERE kind=?", (kind,)) if kind else ("", ())
            return int(self._conn.execute(f"DELETE FROM cache {where}", args).rowcount)

    async def register_worker(self, worker: WorkerRecord) -> None:
        async with self.transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO workers VALUES (?,?,?,?,?,?,?,?)",
                (
                    worker.id,
                    worker.host,
                    worker.pid,
                    worker.state,
                    worker.concurrency,
                    json.dumps(worker.labels),
                    worker.started_at,
                    worker.heartbeat_at,
                ),
            )

    async def heartbeat(self, worker_id: str, *, now: float, lease_until: float) -> None:
        async with self.transaction():
            self._conn.execute("UPDATE workers SET heartbeat_at=? WHERE id=?", (now, worker_id))
            self._conn.execute(
                "UPDATE attempts SET lease_expires=? WHERE worker_id=?"
                " AND state IN ('leased','running')",
                (lease_until, worker_id),
            )

    async def set_worker_state(self, worker_id: str, state: str) -> None:
        async with self.transaction():
            self._conn.execute("UPDATE workers SET state=? WHERE id=?", (state, worker_id))

    async def workers(self, ids: Collection[str] | None = None) -> Mapping[str, WorkerRecord]:
        sql = (
            "SELECT id, host, pid, state, concurrency, labels, started_at, heartbeat_at"
            " FROM workers"
        )
        args: tuple[Any, ...] = ()
        if ids is not None:
            if not ids:
                return {}
            sql += f" WHERE id IN ({','.join('?' * len(ids))})"
            args = tuple(ids)
        return {
            r[0]: WorkerRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7])
            for r in self._q(sql, args)
        }

    async def close(self) -> None:
        self._conn.close()
