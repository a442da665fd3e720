"""The transaction both SQL stores share: every write a step completion needs.

Written once against :class:`~runwright.store.sql.Cursor`; the dialect adds
only the locking clauses. Work made ready here is counted so the store can
wake other workers at commit (PostgreSQL ``NOTIFY``) only when it matters.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from runwright.errors import IllegalTransition, NotFoundError
from runwright.events import Event
from runwright.states import AttemptState, RunStatus, check_attempt
from runwright.store.records import AttemptRecord, LogChunk, NewAttempt, RunRecord
from runwright.store.sql import (
    ATTEMPT_COLUMNS,
    Cursor,
    Dialect,
    attempt_from_row,
    marks,
)
from runwright.store.sql_breakers import BreakerWrites
from runwright.store.sql_claims import ClaimWrites
from runwright.store.sql_costs import CostWrites
from runwright.store.sql_gc import GcReads
from runwright.store.sql_items import ItemWrites
from runwright.store.sql_logs import add_log_chunks
from runwright.store.sql_patches import PatchWrites
from runwright.store.sql_processes import ProcessWrites
from runwright.store.sql_schedules import ScheduleWrites
from runwright.store.sql_tally import TallyReads
from runwright.store.sql_trust import TrustWrites

A = AttemptState


class SqlTransaction(
    ClaimWrites,
    ItemWrites,
    ScheduleWrites,
    ProcessWrites,
    BreakerWrites,
    CostWrites,
    TrustWrites,
    PatchWrites,
    GcReads,
    TallyReads,
):
    """Implements :class:`runwright.store.base.Transaction` over a :class:`Cursor`."""

    __slots__ = ("_c", "_d", "_events", "made_ready")

    def __init__(self, cursor: Cursor, dialect: Dialect) -> None:
        self._c = cursor
        self._d = dialect
        self._events: list[Event] = []
        #: Attempts this transaction made ready (inserted ready, released, reopened).
        self.made_ready = 0
        self.claimed_all = False
        self.ready_at_claim = None

    @property
    def cursor(self) -> Cursor:
        """The raw cursor, for the store's own single-statement writes."""
        return self._c

    @property
    def wakes_others(self) -> bool:
        """Whether other workers should look for work once this commits."""
        if not self.made_ready:
            return False
        if self.ready_at_claim is None or not self.claimed_all:
            return True
        return self.made_ready > self.ready_at_claim

    async def add_events(self, events: Sequence[Event]) -> None:
        # Buffered: one batched insert per transaction instead of one per call.
        self._events.extend(events)

    async def flush(self) -> None:
        """Write the events buffered by :meth:`add_events` (called just before COMMIT)."""
        if self._events:
            await self._c.many(
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

    async def add_log_chunks(self, chunks: Sequence[LogChunk]) -> None:
        await add_log_chunks(self._c, chunks)

    # -- runs ------------------------------------------------------------------------------

    async def insert_run(self, run: RunRecord) -> None:
        await self._c.count(
            "INSERT INTO runs (id, pipeline, spec_hash, spec_path, inputs, options,"
            " status, created_at, started_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                run.id,
                run.pipeline,
                run.spec_hash,
                run.spec_path,
                json.dumps(run.inputs),
                json.dumps(run.options),
                str(run.status),
                run.created_at,
                run.started_at,
                run.updated_at,
            ),
        )
        # Apart from the row every claim reads (see migration 0009).
        await self._c.count(
            "INSERT INTO run_specs (run_id, source) VALUES (?, ?)", (run.id, run.spec_source)
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
        await self._c.count(
            "UPDATE runs SET status=?, error=?, updated_at=?, finished_at=?,"
            " started_at=COALESCE(started_at, ?) WHERE id=?",
            (str(status), error, now, now if finished else None, now, run_id),
        )
        if status is RunStatus.RUNNING:
            self.made_ready += 1  # a resumed or approved run may have ready work
        if spec is not None:
            spec_hash, source = spec
            await self._c.count("UPDATE runs SET spec_hash=? WHERE id=?", (spec_hash, run_id))
            await self._c.count("UPDATE run_specs SET source=? WHERE run_id=?", (source, run_id))

    async def run_status(self, run_id: str) -> RunStatus:
        rows = await self._c.rows("SELECT status FROM runs WHERE id=?", (run_id,))
        if not rows:
            raise NotFoundError(f"no run {run_id!r}")
        return RunStatus(rows[0][0])

    async def lock_run(self, run_id: str) -> RunStatus:
        """The run's status, locking its row until commit so deciders take turns."""
        rows = await self._c.rows(
            f"SELECT status FROM runs WHERE id=?{self._d.lock_row}", (run_id,)
        )
        if not rows:
            raise NotFoundError(f"no run {run_id!r}")
        return RunStatus(rows[0][0])

    # -- attempts --------------------------------------------------------------------------

    async def insert_attempts(self, attempts: Sequence[NewAttempt]) -> None:
        if not attempts:
            return
        now = time.time()
        await self._c.many(
            "INSERT INTO attempts (run_id, step_id, item, number, try, state, reason, waiting_on,"
            " not_before, created_at, ready_at, payload, labels)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                    now if a.state is A.READY else None,
                    a.payload,
                    a.labels,
                )
                for a in attempts
            ],
        )
        self.made_ready += sum(1 for a in attempts if a.state is A.READY)

    async def transition(
        self,
        attempt_id: int,
        old: AttemptState,
        new: AttemptState,
        *,
        reason: str | None = None,
        error: str | None = None,
        worker_id: str | None = None,
        at: float | None = None,
    ) -> None:
        check_attempt(old, new)
        now = time.time() if at is None else at
        sql = (
            "UPDATE attempts SET state=?, reason=COALESCE(?, reason), error=?,"
            " started_at=COALESCE(?, started_at), finished_at=COALESCE(?, finished_at)"
            " WHERE id=? AND state=?"
        )
        args: tuple[Any, ...] = (
            str(new),
            reason,
            error,
            now if new is A.RUNNING else None,
            now if new.finished else None,
            attempt_id,
            str(old),
        )
        if worker_id is not None:
            sql += " AND worker_id=?"
            args += (worker_id,)
        if await self._c.count(sql, args) != 1:
            raise IllegalTransition(
                f"attempt {attempt_id} is no longer {old} (or not held by {worker_id}); "
                f"refusing {old} -> {new}"
            )
        if new is A.ABANDONED:
            # Its process died, maybe mid-call: what it reserved is charged, never leaked.
            await self.settle_lost([attempt_id])

    async def supersede(self, attempt_ids: Collection[int]) -> None:
        if attempt_ids:
            await self._c.count(
                f"UPDATE attempts SET superseded=1 WHERE id IN ({marks(attempt_ids)})",
                tuple(attempt_ids),
            )

    async def reopen(self, attempt_ids: Collection[int], reason: str) -> None:
        """Supersede finished or abandoned attempts, each by a ready successor."""
        if not attempt_ids:
            return
        ids = tuple(attempt_ids)
        await self.supersede(ids)
        now = time.time()
        await self._c.count(
            "INSERT INTO attempts (run_id, step_id, item, number, try, state, reason, waiting_on,"
            " not_before, created_at, ready_at, labels)"
            " SELECT run_id, step_id, item, number+1, 1, 'ready', ?, 0, 0, ?, ?, labels"
            f" FROM attempts WHERE id IN ({marks(ids)})",
            (reason, now, now, *ids),
        )
        self.made_ready += len(ids)

    async def release(self, run_id: str, step_ids: Collection[str]) -> None:
        ids = tuple(step_ids)
        if not ids:
            return
        if self.ready_at_claim is not None:
            # Claimed already: COMMIT is next, so write the buffered events first and
            # hold the dependents' rows (a join's, shared by its siblings) the least.
            await self.flush()
        rows = await self._c.rows(
            "UPDATE attempts SET waiting_on=waiting_on-1,"
            " ready_at=CASE WHEN waiting_on<=1 THEN ? ELSE ready_at END,"
            " state=CASE WHEN waiting_on<=1 THEN 'ready' ELSE state END"
            f" WHERE run_id=? AND step_id IN ({marks(ids)}) AND item=-1 AND superseded=0"
            " AND state='pending' RETURNING state",
            (time.time(), run_id, *ids),
        )
        self.made_ready += sum(1 for r in rows if r[0] == "ready")

    async def hold(self, run_id: str, needs: Mapping[str, int]) -> None:
        for step_id, count in needs.items():
            await self._c.count(
                "UPDATE attempts SET waiting_on=waiting_on+? WHERE run_id=? AND step_id=?"
                " AND item=-1 AND superseded=0 AND state='pending'",
                (count, run_id, step_id),
            )

    async def skip_pending(self, run_id: str, step_ids: Collection[str], reason: str) -> list[str]:
        ids = tuple(step_ids)
        if not ids:
            return []
        rows = await self._c.rows(
            "UPDATE attempts SET state='skipped', reason=?, finished_at=?"
            f" WHERE run_id=? AND step_id IN ({marks(ids)}) AND item=-1 AND superseded=0"
            " AND state='pending' RETURNING step_id",
            (reason, time.time(), run_id, *ids),
        )
        return [r[0] for r in rows]

    async def reap_expired(self, now: float, *, limit: int = 500) -> list[AttemptRecord]:
        """Abandon attempts whose lease ran out and reopen each as ``lease_expired``.

        A late result from the old holder is then refused: its attempt is no
        longer ``running`` (the attempt id is the fencing token).
        """
        expired = [
            attempt_from_row(r)
            for r in await self._c.rows(
                "UPDATE attempts SET state='abandoned', reason='lease expired', finished_at=?"
                " WHERE id IN (SELECT a.id FROM attempts a WHERE a.state IN ('leased','running')"
                " AND a.worker_id IS NOT NULL AND a.lease_expires<?"
                f" ORDER BY a.id LIMIT ?{self._d.skip_locked})"
                " AND state IN ('leased','running')"
                f" RETURNING {ATTEMPT_COLUMNS}",
                (now, now, limit),
            )
        ]
        await self.settle_lost([a.id for a in expired])
        await self.reopen([a.id for a in expired], "lease_expired")
        return expired

    async def current_attempt(self, run_id: str, step_id: str, item: int) -> AttemptRecord | None:
        rows = await self._c.rows(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE run_id=? AND step_id=? AND item=?"
            " AND superseded=0 ORDER BY id DESC LIMIT 1",
            (run_id, step_id, item),
        )
        return attempt_from_row(rows[0]) if rows else None

    async def expand(self, attempt_id: int, items: int) -> None:
        # The parent now waits for its items; it holds no worker and no lease.
        await self._c.count(
            "UPDATE attempts SET waiting_on=?, worker_id=NULL, lease_expires=NULL WHERE id=?",
            (items, attempt_id),
        )

    async def item_payload(self, run_id: str, step_id: str, item: int) -> str | None:
        rows = await self._c.rows(
            "SELECT payload FROM attempts WHERE run_id=? AND step_id=? AND item=?"
            " AND payload IS NOT NULL LIMIT 1",
            (run_id, step_id, item),
        )
        return str(rows[0][0]) if rows else None

    async def step_payload(self, run_id: str, step_id: str) -> str | None:
        rows = await self._c.rows(
            "SELECT payload FROM attempts WHERE run_id=? AND step_id=? AND item=-1"
            " AND payload IS NOT NULL ORDER BY id DESC LIMIT 1",
            (run_id, step_id),
        )
        return str(rows[0][0]) if rows else None

    async def node_states(self, run_id: str, step_ids: Collection[str]) -> dict[str, AttemptState]:
        ids = tuple(step_ids)
        if not ids:
            return {}
        rows = await self._c.rows(
            f"SELECT step_id, state FROM attempts WHERE run_id=? AND step_id IN ({marks(ids)})"
            " AND item=-1 AND superseded=0",
            (run_id, *ids),
        )
        return {r[0]: AttemptState(r[1]) for r in rows}
