"""The Store methods both SQL databases share: reads, workers, schedules.

A subclass supplies :meth:`SqlStore.transaction` and :meth:`SqlStore._rows`
(reads outside a transaction); everything else is written once here.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from runwright.errors import NotFoundError, StateError
from runwright.events import Event, EventType, Level
from runwright.states import AttemptState, RunStatus
from runwright.store.records import (
    NO_ITEM,
    AttemptRecord,
    CacheStats,
    ItemCounts,
    RunRecord,
    ScheduleRecord,
    WorkerRecord,
)
from runwright.store.sql import (
    ATTEMPT_COLUMNS,
    RUN_SELECT,
    WORKER_COLUMNS,
    Row,
    attempt_from_row,
    marks,
    run_from_row,
    worker_from_row,
)
from runwright.store.sql_costs import CostReads
from runwright.store.sql_logs import LogReads
from runwright.store.sql_schedules import SCHEDULE_COLUMNS, schedule_from_row
from runwright.store.sql_tx import SqlTransaction

#: Worker states in which a worker may still hold leases.
LIVE_WORKER_STATES = ("starting", "active", "draining")


class SqlStore(CostReads, LogReads, ABC):
    """Implements :class:`runwright.store.base.Store` over shared SQL."""

    url: str
    #: What the user knows this database by, for error messages.
    label: str

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[SqlTransaction]: ...

    @abstractmethod
    async def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    async def close(self) -> None: ...

    def work_signal(self) -> asyncio.Event | None:
        """None: this database cannot signal new work, so workers poll."""
        return None

    async def reset_connections(self) -> None:
        """Nothing pooled to reset by default."""

    # -- runs ------------------------------------------------------------------------------

    async def get_run(self, run_id: str) -> RunRecord:
        rows = await self._rows(f"{RUN_SELECT} WHERE r.id=?", (run_id,))
        if not rows and run_id:
            # A prefix, compared exactly (LIKE ignores case on SQLite only).
            rows = await self._rows(
                f"{RUN_SELECT} WHERE substr(r.id, 1, length(?)) = ? LIMIT 2",
                (run_id, run_id),
            )
            if len(rows) > 1:
                raise NotFoundError(f"run id prefix {run_id!r} is ambiguous; give more characters")
        if not rows:
            raise NotFoundError(
                f"no run {run_id!r} in {self.label}; `runwright runs` lists the runs there"
            )
        return run_from_row(rows[0])

    async def run_status(self, run_id: str) -> RunStatus:
        rows = await self._rows("SELECT status FROM runs WHERE id=?", (run_id,))
        if not rows:
            raise NotFoundError(f"no run {run_id!r} in {self.label}")
        return RunStatus(rows[0][0])

    async def list_runs(
        self, *, limit: int = 50, status: RunStatus | None = None
    ) -> list[RunRecord]:
        where, args = ("WHERE r.status=?", (str(status),)) if status else ("", ())
        rows = await self._rows(
            f"{RUN_SELECT} {where} ORDER BY r.created_at DESC, r.id DESC LIMIT ?",
            (*args, limit),
        )
        return [run_from_row(r) for r in rows]

    async def attempts(
        self,
        run_id: str,
        *,
        include_superseded: bool = True,
        nodes_only: bool = False,
        step_id: str | None = None,
        item: int | None = None,
        after_id: int = 0,
        limit: int | None = None,
        states: Collection[AttemptState] | None = None,
    ) -> list[AttemptRecord]:
        extra = "" if include_superseded else " AND superseded=0"
        args: tuple[Any, ...] = (run_id, after_id)
        if nodes_only:
            extra += f" AND item={NO_ITEM}"
        if states is not None:
            if not states:
                return []
            wanted = tuple(str(s) for s in states)
            extra += f" AND state IN ({marks(wanted)})"
            args += wanted
        if step_id is not None:
            extra += " AND step_id=?"
            args += (step_id,)
        if item is not None:
            extra += " AND item=?"
            args += (item,)
        sql = f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE run_id=? AND id>?{extra} ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        return [attempt_from_row(r) for r in await self._rows(sql, args)]

    async def iter_attempts(self, run_id: str, *, page: int = 2000) -> AsyncIterator[AttemptRecord]:
        after = 0
        while batch := await self.attempts(run_id, after_id=after, limit=page):
            for a in batch:
                yield a
            after = batch[-1].id

    async def item_counts(self, run_id: str) -> dict[str, ItemCounts]:
        rows = await self._rows(
            "SELECT step_id, COUNT(*), SUM(CASE WHEN state IN ('succeeded','cached') THEN 1"
            " ELSE 0 END), SUM(CASE WHEN state='cached' THEN 1 ELSE 0 END) FROM attempts"
            f" WHERE run_id=? AND item<>{NO_ITEM} AND superseded=0 GROUP BY step_id",
            (run_id,),
        )
        return {r[0]: ItemCounts(int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in rows}

    async def unsettled_runs(self, *, limit: int = 20) -> list[str]:
        """Running runs with nothing ready or held: their fate awaits a decision.

        Normally the worker that commits a run's last step decides it; this finds
        runs whose decider died between that commit and the decision.
        """
        rows = await self._rows(
            "SELECT r.id FROM runs r WHERE r.status='running' AND NOT EXISTS ("
            "SELECT 1 FROM attempts a WHERE a.run_id=r.id AND a.superseded=0 AND"
            " (a.state IN ('ready','leased') OR (a.state='running' AND a.worker_id IS NOT NULL)))"
            " ORDER BY r.updated_at LIMIT ?",
            (limit,),
        )
        return [r[0] for r in rows]

    async def latencies(self, run_id: str) -> list[float]:
        """Seconds from ready (or due) to started, for every started attempt of a run."""
        rows = await self._rows(
            "SELECT started_at, ready_at, not_before FROM attempts WHERE run_id=?"
            " AND started_at IS NOT NULL AND ready_at IS NOT NULL",
            (run_id,),
        )
        return [max(0.0, r[0] - max(r[1], r[2])) for r in rows]

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
            sql += f" AND type IN ({marks(types)})"
            args.extend(types)
        if step_id is not None:
            sql += " AND step_id=?"
            args.append(step_id)
        if min_level:
            # In SQL, before LIMIT: a page with no match must not end a paging reader.
            levels = [str(lv) for lv in Level if lv.rank >= min_level]
            sql += f" AND level IN ({marks(levels)})"
            args.extend(levels)
        rows = await self._rows(sql + " ORDER BY seq LIMIT ?", (*args, limit))
        return [
            Event(
                EventType(r[3]), run_id, r[4], r[6], r[5], Level(r[2]), json.loads(r[7]), r[1], r[0]
            )
            for r in rows
        ]

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
        async with self.transaction() as tx:
            found = await tx.outputs(run_id, [(step_id, item)])
        if (step_id, item) not in found:
            raise NotFoundError(f"step {step_id!r} of run {run_id} has no output")
        return found[(step_id, item)]

    # -- cache -----------------------------------------------------------------------------

    async def cache_stats(self) -> CacheStats:
        rows = await self._rows(
            "SELECT kind, COUNT(*), COALESCE(SUM(size),0), SUM(hits) FROM cache GROUP BY kind"
        )
        return CacheStats(
            entries=sum(int(r[1]) for r in rows),
            bytes=sum(int(r[2]) for r in rows),
            hits=sum(int(r[3] or 0) for r in rows),
            by_kind={r[0]: int(r[1]) for r in rows},
        )

    async def cache_clear(self, *, kind: str | None = None) -> int:
        where, args = ("WHERE kind=?", (kind,)) if kind else ("", ())
        async with self.transaction() as tx:
            return await tx.cursor.count(f"DELETE FROM cache {where}", args)

    # -- workers ---------------------------------------------------------------------------

    async def register_worker(self, worker: WorkerRecord) -> None:
        async with self.transaction() as tx:
            await tx.cursor.count(
                f"INSERT INTO workers ({WORKER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"
                " ON CONFLICT (id) DO UPDATE SET state=excluded.state,"
                " heartbeat_at=excluded.heartbeat_at",
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

    async def heartbeat(
        self,
        worker_id: str,
        *,
        now: float,
        lease_until: float,
        attempt_ids: Collection[int] | None = None,
    ) -> str | None:
        """Refresh the worker's heartbeat and the leases of the attempts it still runs.

        With ``attempt_ids``, only those leases are renewed: an attempt the worker
        was granted but never heard of (a commit lost with its connection) expires
        and runs elsewhere. Returns the worker's stored state (a drain request
        arrives this way), or None if its row is gone.
        """
        async with self.transaction() as tx:
            rows = await tx.cursor.rows(
                "UPDATE workers SET heartbeat_at=?,"
                " state=CASE WHEN state='lost' THEN 'active' ELSE state END"
                " WHERE id=? RETURNING state",
                (now, worker_id),
            )
            sql = (
                "UPDATE attempts SET lease_expires=? WHERE worker_id=?"
                " AND state IN ('leased','running')"
            )
            args: tuple[Any, ...] = (lease_until, worker_id)
            if attempt_ids is not None:
                if not attempt_ids:
                    return str(rows[0][0]) if rows else None
                sql += f" AND id IN ({marks(attempt_ids)})"
                args += tuple(attempt_ids)
            await tx.cursor.count(sql, args)
        return str(rows[0][0]) if rows else None

    async def set_worker_state(
        self, worker_id: str, state: str, *, expected: str | None = None
    ) -> bool:
        """Set a worker's state (only if it is ``expected``, when given); True if it changed."""
        sql = "UPDATE workers SET state=? WHERE id=?"
        args: tuple[str, ...] = (state, worker_id)
        if expected is not None:
            sql, args = sql + " AND state=?", (*args, expected)
        async with self.transaction() as tx:
            return await tx.cursor.count(sql, args) == 1

    async def request_drain(self, worker_id: str) -> WorkerRecord:
        """Ask a live worker to drain: it finishes what it runs and claims nothing new."""
        found = await self.workers()
        exact = found.get(worker_id)
        matches = (
            [exact]
            if exact is not None
            else [w for w in found.values() if w.id.startswith(worker_id)]
        )
        if len(matches) != 1:
            raise NotFoundError(
                f"no worker {worker_id!r}"
                if not matches
                else f"worker id {worker_id!r} is ambiguous"
            )
        worker = matches[0]
        if worker.state not in LIVE_WORKER_STATES:
            raise StateError(f"worker {worker.id} is {worker.state}; only a live worker can drain")
        async with self.transaction() as tx:
            await tx.cursor.count(
                "UPDATE workers SET state='draining' WHERE id=? AND state IN ('starting','active')",
                (worker.id,),
            )
        return (await self.workers([worker.id]))[worker.id]

    async def mark_lost_workers(self, *, now: float, silent_for: float) -> list[str]:
        """Workers whose heartbeat stopped ``silent_for`` seconds ago become ``lost``."""
        async with self.transaction() as tx:
            rows = await tx.cursor.rows(
                "UPDATE workers SET state='lost' WHERE state IN ('starting','active','draining')"
                " AND heartbeat_at<? RETURNING id",
                (now - silent_for,),
            )
        return [r[0] for r in rows]

    async def workers(self, ids: Collection[str] | None = None) -> Mapping[str, WorkerRecord]:
        sql = f"SELECT {WORKER_COLUMNS} FROM workers"
        args: tuple[Any, ...] = ()
        if ids is not None:
            if not ids:
                return {}
            sql += f" WHERE id IN ({marks(ids)})"
            args = tuple(ids)
        return {
            r[0]: worker_from_row(r) for r in await self._rows(sql + " ORDER BY started_at", args)
        }

    async def held_attempts(self) -> list[AttemptRecord]:
        """Attempts leased or running under some worker, oldest first."""
        rows = await self._rows(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE state IN ('leased','running')"
            " AND worker_id IS NOT NULL ORDER BY id"
        )
        return [attempt_from_row(r) for r in rows]

    # -- schedules -------------------------------------------------------------------------

    async def schedules(self) -> list[ScheduleRecord]:
        rows = await self._rows(f"SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY name")
        return [schedule_from_row(r) for r in rows]

    async def schedule(self, name: str) -> ScheduleRecord:
        rows = await self._rows(f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE name=?", (name,))
        if not rows:
            raise NotFoundError(f"no schedule {name!r}; `runwright schedule list` shows them")
        return schedule_from_row(rows[0])

    async def schedule_fires(self, name: str) -> list[tuple[int, str]]:
        """(fire time, run id) of every fire of a schedule, oldest first."""
        rows = await self._rows(
            "SELECT fire_time, run_id FROM schedule_fires WHERE schedule=? ORDER BY fire_time",
            (name,),
        )
        return [(int(r[0]), r[1]) for r in rows]
