"""Claiming ready attempts: the queue half of :class:`~runwright.store.sql_tx.SqlTransaction`.

One statement leases the oldest ready attempts (walking the ready index in id order,
migration 0008), starts at once those the caller starts at once, and returns each
attempt with its payload, so executing a ``for_each`` item needs no further read.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from runwright.store.records import AttemptRecord
from runwright.store.sql import ATTEMPT_COLUMNS, Cursor, Dialect, attempt_from_row, marks


class ClaimWrites:
    """The claim of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ("claimed_all", "ready_at_claim")
    _c: Cursor
    _d: Dialect
    made_ready: int
    #: True once a claim here came back short: nothing ready was left behind then.
    claimed_all: bool
    #: ``made_ready`` when the last claim ran (None: no claim yet); work readied after
    #: it was left behind whatever the claim found.
    ready_at_claim: int | None

    async def claim(
        self,
        *,
        worker_id: str,
        limit: int,
        now: float,
        lease_until: float,
        run_id: str | None = None,
        start: Collection[str] = (),
        start_items: Collection[str] = (),
        labels: Collection[str] | None = None,
        hold: Collection[str] | None = None,
    ) -> list[AttemptRecord]:
        if limit <= 0 or (labels is not None and not labels):
            return []
        where = "a.state='ready' AND a.not_before<=?"
        args: list[Any] = [now]
        if run_id is not None:
            where += " AND a.run_id=?"
            args.append(run_id)
        if labels is not None:
            where += f" AND a.labels IN ({marks(labels)})"
            args.extend(labels)
        # One statement leases the rows and starts those the caller starts at once,
        # RETURNING them as they now are (the columns in SET are the row's own).
        conds: list[str] = []
        names: list[str] = []
        if hold is not None:
            conds.append(f"(item=-1 AND step_id NOT IN ({marks(hold)}))" if hold else "item=-1")
            names.extend(hold)
        elif start:
            conds.append(f"(item=-1 AND step_id IN ({marks(start)}))")
            names.extend(start)
        if start_items:
            conds.append(f"(item<>-1 AND step_id IN ({marks(start_items)}))")
            names.extend(start_items)
        starting = " OR ".join(conds) or "1=0"
        leased = [
            attempt_from_row(r)
            for r in await self._c.rows(
                "UPDATE attempts SET worker_id=?, lease_expires=?,"
                f" state=CASE WHEN {starting} THEN 'running' ELSE 'leased' END,"
                f" started_at=CASE WHEN {starting} THEN ? ELSE started_at END"
                " WHERE id IN (SELECT a.id FROM attempts a JOIN runs r ON r.id=a.run_id"
                f" WHERE {where} AND r.status='running' ORDER BY a.id LIMIT ?{self._d.skip_locked})"
                # The payload too: an item's value, read here rather than in a query of its own.
                f" RETURNING {ATTEMPT_COLUMNS}, payload",
                (worker_id, lease_until, *names, *names, now, *args, limit),
            )
        ]
        self.claimed_all = len(leased) < limit
        self.ready_at_claim = self.made_ready
        leased.sort(key=lambda a: a.id)
        return leased
