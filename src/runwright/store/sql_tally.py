"""A run's current attempts read by state inside a transaction: counted, or filtered."""

from __future__ import annotations

from collections.abc import Collection

from runwright.states import AttemptState
from runwright.store.records import NO_ITEM, AttemptRecord, RunTally
from runwright.store.sql import ATTEMPT_COLUMNS, Cursor, attempt_from_row, marks

_HOLDING = (AttemptState.LEASED, AttemptState.RUNNING)


class TallyReads:
    """The counting part of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ()
    _c: Cursor

    async def tally(self, run_id: str) -> RunTally:
        """Count ``run_id``'s current attempts by state (one aggregate statement)."""
        rows = await self._c.rows(
            "SELECT state, COUNT(*),"
            f" SUM(CASE WHEN item={NO_ITEM} AND worker_id IS NULL THEN 0 ELSE 1 END),"
            " MIN(not_before), MIN(created_at)"
            " FROM attempts WHERE run_id=? AND superseded=0 GROUP BY state",
            (run_id,),
        )
        counts: dict[AttemptState, int] = {}
        held = 0
        next_ready: float | None = None
        created: list[float] = []
        for state_text, count, holding, not_before, first in rows:
            state = AttemptState(state_text)
            counts[state] = int(count)
            created.append(float(first))
            if state in _HOLDING:
                held += int(holding)
            elif state is AttemptState.READY:
                next_ready = float(not_before)
        return RunTally(counts, held, next_ready, min(created, default=None))

    async def current_attempts(
        self,
        run_id: str,
        states: Collection[AttemptState] | None = None,
        *,
        nodes_only: bool = False,
    ) -> list[AttemptRecord]:
        """``run_id``'s current attempts in creation order (see the Transaction protocol)."""
        params: tuple[str, ...]
        where, params = (f" AND item={NO_ITEM}" if nodes_only else ""), ()
        if states is not None:
            if not states:
                return []
            params = tuple(str(s) for s in states)
            where += f" AND state IN ({marks(params)})"
        rows = await self._c.rows(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE run_id=? AND superseded=0{where}"
            " ORDER BY id",
            (run_id, *params),
        )
        return [attempt_from_row(r) for r in rows]
