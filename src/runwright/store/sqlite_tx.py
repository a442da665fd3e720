"""The SQLite transaction: each method runs named SQL on one connection.

Methods are ``async`` to satisfy the Store protocol but never suspend: SQLite
calls are short and local, and a thread hop would cost more than they do.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from runwright.errors import IllegalTransition, NotFoundError
from runwright.events import Event
from runwright.states import AttemptState, RunStatus, check_attempt
from runwright.store.records import AttemptRecord, CacheEntry, NewAttempt, RunRecord

#: Outputs larger than this (bytes of JSON) are stored once in ``blobs`` by reference.
BLOB_THRESHOLD = 16 * 1024

ATTEMPT_COLUMNS = (
    "id, run_id, step_id, item, number, try, state, reason, superseded, waiting_on,"
    " not_before, worker_id, lease_expires, created_at, started_at, finished_at, error"
)
_FINAL = tuple(str(s) for s in AttemptState if s.finished)


def attempt_from_row(row: Sequence[Any]) -> AttemptRecord:
    return AttemptRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        AttemptState(row[6]),
        row[7],
        bool(row[8]),
        row[9],
        row[10],
        row[11],
        row[12],
        row[13],
        row[14],
        row[15],
        row[16],
    )


def _in(values: Collection[Any]) -> str:
    return ",".join("?" * len(values))


class SqliteTransaction:
    """Implements :class:`runwright.store.base.Transaction` for SQLite."""

    __slots__ = ("_c", "_events")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn
        self._events: list[Event] = []

    def flush(self) -> None:
        """Write the events buffered by :meth:`add_events` (called just before COMMIT)."""
        if self._events:
            self._c.executemany(
                "INSERT INTO events (run_id, ts, level, type, step_id, item, attempt, data)"
                " VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        e.run_id,
                        e.ts,
                        str(e.level),
                        str(e.type),
                        e.step_id,
                        e.item,
                        e.attempt,
                        json.dumps(e.data, default=str),
                    )
                    for e in self._events
                ],
            )
            self._events.clear()

    def discard(self) -> None:
        self._events.clear()

    async def insert_run(self, run: RunRecord) -> None:
        self._c.execute(
            "INSERT INTO runs (id, pipeline, spec_hash, spec_source, spec_path, inputs, options,"
            " status, created_at, started_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                run.id,
                run.pipeline,
                run.spec_hash,
                run.spec_source,
                run.spec_path,
                json.dumps(run.inputs),
                json.dumps(run.options),
                str(run.status),
                run.created_at,
                run.started_at,
                run.updated_at,
            ),
        )

    async def set_run_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: str | None = None,
        finished: bool = False,
        spec: tuple[str, str] | None = None,
    ) -> None:
        now = time.time()
        self._c.execute(
            "UPDATE runs SET status=?, error=?, updated_at=?,"
            " finished_at=CASE WHEN ? THEN ? ELSE NULL END,"
            " started_at=COALESCE(started_at, ?) WHERE id=?",
            (str(status), error, now, finished, now, now, run_id),
        )
        if spec is not None:
            self._c.execute(
                "UPDATE runs SET spec_hash=?, spec_source=? WHERE id=?", (*spec, run_id)
            )

    async def run_status(self, run_id: str) -> RunStatus:
        row = self._c.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no run {run_id!r}")
        return RunStatus(row[0])

    async def insert_attempts(self, attempts: Sequence[NewAttempt]) -> None:
        now = time.time()
        self._c.executemany(
            "INSERT INTO attempts (run_id, step_id, item, number, try, state, reason, waiting_on,"
            " not_before, created_at, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    a.run_id,
                    a.step_id,
                    a.item,
                    a.number,
                    a.try_,
                    str(a.state),
                    a.reason,
                    a.waiting_on,
                    a.not_before,
                    now,
                    a.payload,
                )
                for a in attempts
            ],
        )

    async def transition(
        self,
        attempt_id: int,
        old: AttemptState,
        new: AttemptState,
        *,
        reason: str | None = None,
        error: str | None = None,
        worker_id: str | None = None,
    ) -> None:
        check_attempt(old, new)
        now = time.time()
        sql = (
            "UPDATE attempts SET state=?, reason=COALESCE(?, reason), error=?,"
            " started_at=CASE WHEN ?='running' THEN ? ELSE started_at END,"
            " finished_at=CASE WHEN ? THEN ? ELSE finished_at END"
            " WHERE id=? AND state=?"
        )
        args: tuple[Any, ...] = (
            str(new),
            reason,
            error,
            str(new),
            now,
            new.finished,
            now,
            attempt_id,
            str(old),
        )
        if worker_id is not None:
            sql += " AND worker_id=?"
            args += (worker_id,)
        if self._c.execute(sql, args).rowcount != 1:
            raise IllegalTransition(
                f"attempt {attempt_id} is no longer {old} (or not held by {worker_id}); "
                f"refusing {old} -> {new}"
            )

    async def supersede(self, attempt_ids: Collection[int]) -> None:
        self._c.execute(
            f"UPDATE attempts SET superseded=1 WHERE id IN ({_in(attempt_ids)})",
            tuple(attempt_ids),
        )

    async def release(self, run_id: str, step_ids: Collection[str]) -> None:
        ids = tuple(step_ids)
        if not ids:
            return
        self._c.execute(
            "UPDATE attempts SET waiting_on=waiting_on-1,"
            " state=CASE WHEN waiting_on<=1 THEN 'ready' ELSE state END"
            f" WHERE run_id=? AND step_id IN ({_in(ids)}) AND item=-1 AND superseded=0"
            " AND state='pending'",
            (run_id, *ids),
        )

    async def skip_pending(self, run_id: str, step_ids: Collection[str], reason: str) -> list[str]:
        ids = tuple(step_ids)
        if not ids:
            return []
        rows = self._c.execute(
            "UPDATE attempts SET state='skipped', reason=?, finished_at=?"
            f" WHERE run_id=? AND step_id IN ({_in(ids)}) AND item=-1 AND superseded=0"
            " AND state='pending' RETURNING step_id",
            (reason, time.time(), run_id, *ids),
        ).fetchall()
        return [r[0] for r in rows]

    async def claim(
        self,
        *,
        worker_id: str,
        limit: int,
        now: float,
        lease_until: float,
        run_id: str | None = None,
        start: Collection[str] = (),
    ) -> list[AttemptRecord]:
        if limit <= 0:
            return []
        where = "a.state='ready' AND a.not_before<=?"
        args: list[Any] = [now]
        if run_id is not None:
            where += " AND a.run_id=?"
            args.append(run_id)
        # Lease first (one statement, RETURNING the rows), then start the ones the
        # caller will start at once; both land in the caller's transaction.
        leased = [
            attempt_from_row(r)
            for r in self._c.execute(
                f"UPDATE attempts SET state='leased', worker_id=?, lease_expires=?"
                f" WHERE id IN (SELECT a.id FROM attempts a JOIN runs r ON r.id=a.run_id"
                f" WHERE {where} AND r.status='running' ORDER BY a.id LIMIT ?)"
                f" RETURNING {ATTEMPT_COLUMNS}",
                (worker_id, lease_until, *args, limit),
            ).fetchall()
        ]
        starting = [a.id for a in leased if a.step_id in start]
        if starting:
            self._c.execute(
                f"UPDATE attempts SET state='running', started_at=? WHERE id IN ({_in(starting)})",
                (now, *starting),
            )
            leased = [
                replace(a, state=AttemptState.RUNNING, started_at=now) if a.step_id in start else a
                for a in leased
            ]
        leased.sort(key=lambda a: a.id)
        return leased

    async def current_attempt(self, run_id: str, step_id: str, item: int) -> AttemptRecord | None:
        row = self._c.execute(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE run_id=? AND step_id=? AND item=?"
            " AND superseded=0 ORDER BY id DESC LIMIT 1",
            (run_id, step_id, item),
        ).fetchone()
        return None if row is None else attempt_from_row(row)

    async def expand(self, attempt_id: int, items: int) -> None:
        # The parent now waits for its items; it holds no worker and no lease.
        self._c.execute(
            "UPDATE attempts SET waiting_on=?, worker_id=NULL, lease_expires=NULL WHERE id=?",
            (items, attempt_id),
        )

    async def item_payload(self, run_id: str, step_id: str, item: int) -> str | None:
        row = self._c.execute(
            "SELECT payload FROM attempts WHERE run_id=? AND step_id=? AND item=?"
            " AND payload IS NOT NULL LIMIT 1",
            (run_id, step_id, item),
        ).fetchone()
        return None if row is None else str(row[0])

    async def decrement_waiting(self, attempt_id: int) -> int:
        row = self._c.execute(
            "UPDATE attempts SET waiting_on=waiting_on-1 WHERE id=? RETURNING waiting_on",
            (attempt_id,),
        ).fetchone()
        return int(row[0]) if row else 0

    async def put_output(
        self, run_id: str, step_id: str, item: int, attempt_id: int, value_json: str
    ) -> None:
        value, blob = self._maybe_blob(value_json)
        self._c.execute(
            "INSERT OR REPLACE INTO outputs (run_id, step_id, item, attempt_id, value, blob)"
            " VALUES (?,?,?,?,?,?)",
            (run_id, step_id, item, attempt_id, value, blob),
        )

    def _maybe_blob(self, value_json: str) -> tuple[str | None, str | None]:
        if len(value_json) < BLOB_THRESHOLD:
            return value_json, None
        data = value_json.encode()
        sha = hashlib.sha256(data).hexdigest()
        self._c.execute(
            "INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?,?,?)",
            (sha, len(data), data),
        )
        return None, sha

    def load_value(self, value: str | None, blob: str | None) -> Any:
        if blob is not None:
            row = self._c.execute("SELECT data FROM blobs WHERE sha256=?", (blob,)).fetchone()
            if row is None:
                raise NotFoundError(f"blob {blob} is missing from the database")
            return json.loads(bytes(row[0]))
        return None if value is None else json.loads(value)

    async def outputs(
        self, run_id: str, keys: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], Any]:
        result: dict[tuple[str, int], Any] = {}
        for step_id, item in keys:
            row = self._c.execute(
                "SELECT value, blob FROM outputs WHERE run_id=? AND step_id=? AND item=?",
                (run_id, step_id, item),
            ).fetchone()
            if row is not None:
                result[(step_id, item)] = self.load_value(row[0], row[1])
        return result

    async def item_outputs(self, run_id: str, step_id: str) -> list[Any]:
        count = self._c.execute(
            "SELECT COALESCE(MAX(item)+1, 0) FROM attempts WHERE run_id=? AND step_id=?",
            (run_id, step_id),
        ).fetchone()[0]
        values: list[Any] = [None] * count
        for item, value, blob in self._c.execute(
            "SELECT item, value, blob FROM outputs WHERE run_id=? AND step_id=? AND item>=0",
            (run_id, step_id),
        ).fetchall():
            values[item] = self.load_value(value, blob)
        return values

    async def node_states(self, run_id: str, step_ids: Collection[str]) -> dict[str, AttemptState]:
        ids = tuple(step_ids)
        if not ids:
            return {}
        rows = self._c.execute(
            f"SELECT step_id, state FROM attempts WHERE run_id=? AND step_id IN ({_in(ids)})"
            " AND item=-1 AND superseded=0",
            (run_id, *ids),
        ).fetchall()
        return {r[0]: AttemptState(r[1]) for r in rows}

    async def add_events(self, events: Sequence[Event]) -> None:
        # Buffered: one executemany per transaction instead of one per call.
        self._events.extend(events)

    async def cache_get(self, key: str) -> CacheEntry | None:
        row = self._c.execute(
            "SELECT kind, value, blob, run_id, step_id, created_at FROM cache WHERE key=?", (key,)
        ).fetchone()
        if row is None:
            return None
        self._c.execute(
            "UPDATE cache SET hits=hits+1, last_hit_at=? WHERE key=?", (time.time(), key)
        )
        return CacheEntry(key, row[0], self.load_value(row[1], row[2]), row[3], row[4], row[5])

    async def cache_put(
        self, key: str, *, kind: str, value_json: str, run_id: str, step_id: str
    ) -> None:
        value, blob = self._maybe_blob(value_json)
        self._c.execute(
            "INSERT INTO cache (key, kind, value, blob, size, run_id, step_id, created_at)"
            " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (key) DO UPDATE SET value=excluded.value,"
            " blob=excluded.blob, size=excluded.size, run_id=excluded.run_id,"
            " step_id=excluded.step_id, created_at=excluded.created_at",
            (key, kind, value, blob, len(value_json), run_id, step_id, time.time()),
        )

    async def current_attempts(self, run_id: str) -> list[AttemptRecord]:
        rows = self._c.execute(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE run_id=? AND superseded=0 ORDER BY id",
            (run_id,),
        ).fetchall()
        return [attempt_from_row(r) for r in rows]
