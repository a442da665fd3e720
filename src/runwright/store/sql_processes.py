"""The process groups attempts started, as written and read inside a transaction."""

from __future__ import annotations

from runwright.errors import IllegalTransition
from runwright.store.records import AttemptProcess
from runwright.store.sql import Cursor, Dialect


class ProcessWrites:
    """The process-group part of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ()
    _c: Cursor
    _d: Dialect

    async def record_process(self, attempt_id: int, process: str, *, worker_id: str) -> None:
        """Record the process group (JSON) an attempt held by ``worker_id`` started.

        Raises :class:`~runwright.errors.IllegalTransition` when the attempt is no
        longer in flight under that worker (its lease expired): the caller must
        stop what it started.
        """
        changed = await self._c.count(
            "UPDATE attempts SET process=? WHERE id=? AND worker_id=?"
            " AND state IN ('leased','running')",
            (process, attempt_id, worker_id),
        )
        if changed != 1:
            raise IllegalTransition(
                f"attempt {attempt_id} is no longer running under {worker_id}; "
                "refusing to record its processes"
            )

    async def abandoned_processes(
        self, run_id: str, step_id: str, item: int, *, before: int
    ) -> list[AttemptProcess]:
        """Process groups of abandoned attempts of one step (or item) numbered below ``before``."""
        rows = await self._c.rows(
            "SELECT number, worker_id, process FROM attempts WHERE run_id=? AND step_id=?"
            " AND item=? AND number<? AND state='abandoned' AND process IS NOT NULL"
            " ORDER BY number",
            (run_id, step_id, item, before),
        )
        return [AttemptProcess(int(r[0]), r[1], str(r[2])) for r in rows]
