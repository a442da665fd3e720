"""for_each items as written inside a transaction: counted on their parent, one or many.

Every item of a step counts itself on one row, its parent attempt's: on PostgreSQL
the commits of a fan-out queue for that row's lock. A worker whose items finish
together commits them together (:mod:`runwright.engine.itemgroup`), and these
statements then write the whole group at once: one transition, one batch of
outputs and one count, however many items it holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from runwright.errors import IllegalTransition
from runwright.states import AttemptState, check_attempt
from runwright.store.records import AttemptRecord
from runwright.store.sql import ATTEMPT_COLUMNS, Cursor, attempt_from_row, marks
from runwright.store.sql_outputs import OUTPUT_UPSERT, OutputWrites

A = AttemptState


class ItemWrites(OutputWrites):
    """The item part of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ()
    _c: Cursor
    flush: Callable[[], Awaitable[None]]

    async def count_item(self, run_id: str, step_id: str, n: int = 1) -> AttemptRecord | None:
        # Every item of the step updates this one row, so every other write goes first:
        # its lock is held from here to COMMIT only, which is what bounds a fan-out.
        await self.flush()
        rows = await self._c.rows(
            "UPDATE attempts SET waiting_on=waiting_on-? WHERE id=(SELECT id FROM attempts"
            " WHERE run_id=? AND step_id=? AND item=-1 AND superseded=0 ORDER BY id DESC"
            f" LIMIT 1) RETURNING {ATTEMPT_COLUMNS}",
            (n, run_id, step_id),
        )
        return attempt_from_row(rows[0]) if rows else None

    async def succeed_items(
        self,
        run_id: str,
        step_id: str,
        items: Sequence[tuple[int, int, str]],
        *,
        worker_id: str,
        at: float,
    ) -> AttemptRecord | None:
        check_attempt(A.RUNNING, A.SUCCEEDED)
        ids = [attempt_id for attempt_id, _, _ in items]
        changed = await self._c.count(
            "UPDATE attempts SET state='succeeded', error=NULL, finished_at=?"
            f" WHERE id IN ({marks(ids)}) AND state='running' AND worker_id=?",
            (at, *ids, worker_id),
        )
        if changed != len(ids):
            # All or nothing: the caller commits each item alone, and only the fenced
            # ones are refused.
            raise IllegalTransition(
                f"{len(ids) - changed} of attempts {ids} are no longer running under "
                f"{worker_id}; refusing running -> succeeded"
            )
        rows = []
        for attempt_id, item, value_json in items:
            value, blob = await self._maybe_blob(value_json)
            rows.append((run_id, step_id, item, attempt_id, value, blob))
        await self._c.many(OUTPUT_UPSERT, rows)
        return await self.count_item(run_id, step_id, len(items))
