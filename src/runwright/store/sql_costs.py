"""Budget reservations and the cost ledger, written once for both SQL databases.

A reservation is checked against every budget that bounds it in one
transaction holding the row of each budget scope in ``budget_locks``
(``FOR UPDATE`` on PostgreSQL; SQLite has one writer anyway), so reservations
made at once by concurrent steps or by several workers take turns and can
never pass a budget together. Each scope row keeps the running sum of its
reservations, so a check reads one row per budget however long the ledger is.

A scope's row is created (from the ledger's sum) by the first reservation that
counts in it, whether or not a budget checks it yet, so a budget added later
finds every reservation in its row, even one made at that instant by a process
still running with the old configuration.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from typing import Any, cast

from runwright.store.records_costs import (
    SPENDING_STATES,
    BudgetLimit,
    CostEntry,
    CostRecord,
    Hold,
    Refusal,
    ReservationRecord,
    ReservationState,
)
from runwright.store.sql import Cursor, Dialect, Row, marks

#: Budgets compare with this slack so float sums of exact prices do not refuse an exact fit.
_EPSILON = 1e-9
_SPENDING = marks(SPENDING_STATES)
COST_COLUMNS = (
    "id, run_id, pipeline, step_id, item, attempt, provider, model, input_tokens,"
    " output_tokens, cached_tokens, usd, day, ts"
)
RESERVATION_COLUMNS = (
    "id, run_id, pipeline, day, attempt_id, step_id, provider, model, usd, reserved_usd,"
    " state, reason"
)


def _scope_key(scope: str, run_id: str, pipeline: str, day: str) -> str:
    return {
        "run": f"run:{run_id}",
        "pipeline_day": f"pipeline:{pipeline}:{day}",
        "pipeline": f"pipeline:{pipeline}",
        "day": f"day:{day}",
        "total": "total",
    }[scope]


def _scope_filter(scope: str, hold: Hold) -> tuple[str, tuple[Any, ...]]:
    return {
        "run": ("run_id=?", (hold.run_id,)),
        "pipeline_day": ("pipeline=? AND day=?", (hold.pipeline, hold.day)),
        "pipeline": ("pipeline=?", (hold.pipeline,)),
        "day": ("day=?", (hold.day,)),
        "total": ("1=1", ()),
    }[scope]


def _all_keys(run_id: str, pipeline: str, day: str) -> list[str]:
    """Every scope a reservation counts in (rows exist only for scopes some budget uses)."""
    return [_scope_key(s, run_id, pipeline, day) for s in _SCOPES]


_SCOPES = ("run", "pipeline_day", "pipeline", "day", "total")


def cost_from_row(r: Row) -> CostRecord:
    return CostRecord(
        id=int(r[0]),
        run_id=r[1],
        pipeline=r[2],
        step_id=r[3],
        item=int(r[4]),
        attempt=int(r[5]),
        provider=r[6],
        model=r[7],
        input_tokens=int(r[8]),
        output_tokens=int(r[9]),
        cached_tokens=int(r[10]),
        usd=None if r[11] is None else float(r[11]),
        day=r[12],
        ts=float(r[13]),
    )


def reservation_from_row(r: Row) -> ReservationRecord:
    return ReservationRecord(
        id=r[0],
        run_id=r[1],
        pipeline=r[2],
        day=r[3],
        attempt_id=None if r[4] is None else int(r[4]),
        step_id=r[5],
        provider=r[6],
        model=r[7],
        usd=None if r[8] is None else float(r[8]),
        reserved_usd=float(r[9]),
        state=cast(ReservationState, r[10]),
        reason=r[11],
    )


class CostWrites:
    """The budget part of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ()
    _c: Cursor
    _d: Dialect

    async def _add(self, keys: Sequence[str], delta: float) -> None:
        # Keeps budget_scopes equal to the sum of its reservations' usd (held, settled, lost).
        if delta:
            if self._d.lock_row:  # rows locked in one order everywhere: no deadlock
                await self._c.rows(
                    f"SELECT scope FROM budget_scopes WHERE scope IN ({marks(keys)})"
                    f" ORDER BY scope{self._d.lock_row}",
                    keys,
                )
            await self._c.count(
                f"UPDATE budget_scopes SET usd = usd + ? WHERE scope IN ({marks(keys)})",
                (delta, *keys),
            )

    async def _lock_scopes(self, hold: Hold, limits: Sequence[BudgetLimit]) -> dict[str, float]:
        """Lock the row of every scope the hold counts in, creating missing ones first.

        Every reservation creates its scopes' rows, not only those its limits check: a
        budget added while another process reserves (with the old configuration) then
        finds that reservation in the row, because the two inserts of the same new row
        meet on its key (PostgreSQL makes the second wait for the first, then skip it).
        """
        scopes = {_scope_key(s, hold.run_id, hold.pipeline, hold.day): s for s in _SCOPES}
        keys = sorted(scopes)  # every transaction locks in the same order: no deadlock
        known = {
            str(r[0])
            for r in await self._c.rows(
                f"SELECT scope FROM budget_scopes WHERE scope IN ({marks(keys)})", keys
            )
        }
        for key in (k for k in keys if k not in known):
            # A scope's first row: its sum so far, from the ledger, once.
            where, args = _scope_filter(scopes[key], hold)
            await self._c.count(
                "INSERT INTO budget_scopes (scope, usd) SELECT ?, COALESCE(SUM(usd), 0)"
                f" FROM reservations WHERE {where} AND state IN ({_SPENDING})"
                " ON CONFLICT DO NOTHING",
                (key, *args, *SPENDING_STATES),
            )
        rows = await self._c.rows(
            f"SELECT scope, usd FROM budget_scopes WHERE scope IN ({marks(keys)}) ORDER BY scope"
            f"{self._d.lock_row}",
            keys,
        )
        return {str(r[0]): float(r[1]) for r in rows}

    async def reserve(self, hold: Hold, limits: Sequence[BudgetLimit]) -> Refusal | None:
        """Hold ``hold.usd`` if it fits every limit; otherwise record the refusal and return it.

        A refusal is written (state ``denied``) so that no later reservation of the same
        run is granted until the run is resumed (:meth:`clear_budget_stop`): one refused
        call stops the run's spending, not only that call. The caller must commit either way.
        """
        stopped = await self._c.rows(
            "SELECT reason FROM reservations WHERE run_id=? AND state='denied' LIMIT 1",
            (hold.run_id,),
        )
        if stopped:
            return Refusal(None, 0.0, hold.usd, stopped=str(stopped[0][0]))
        spent = await self._lock_scopes(hold, limits)
        refusal: Refusal | None = None
        for limit in sorted(limits, key=lambda lim: lim.usd):
            used = spent[_scope_key(limit.scope, hold.run_id, hold.pipeline, hold.day)]
            if used + hold.usd > limit.usd + _EPSILON:
                refusal = Refusal(limit, used, hold.usd)
                break
        reason = None
        if refusal is not None:
            assert refusal.limit is not None
            reason = (
                f"{refusal.limit.source} (${refusal.limit.usd:g}) has ${refusal.spent:.6g} "
                f"spent or reserved; this call may cost up to ${hold.usd:.6g}"
            )
        await self._c.count(
            "INSERT INTO reservations (id, run_id, pipeline, day, attempt_id, step_id, item,"
            " provider, model, usd, reserved_usd, state, reason, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                hold.id,
                hold.run_id,
                hold.pipeline,
                hold.day,
                hold.attempt_id,
                hold.step_id,
                hold.item,
                hold.provider,
                hold.model,
                None if refusal else hold.usd,
                hold.usd,
                "denied" if refusal else "held",
                reason,
                hold.ts,
            ),
        )
        if refusal is None:
            await self._add(_all_keys(hold.run_id, hold.pipeline, hold.day), hold.usd)
        return refusal

    async def settle(self, hold: Hold, cost: CostEntry) -> None:
        """Charge a held reservation its actual cost and write the call's ledger row."""
        now = time.time()
        changed = await self._c.count(
            # 'lost': its lease expired while the call went on; the reply came after all.
            "UPDATE reservations SET state='settled', usd=?, settled_at=? WHERE id=?"
            " AND state IN ('held','lost')",
            (cost.usd, now, hold.id),
        )
        if changed:
            keys = _all_keys(hold.run_id, hold.pipeline, hold.day)
            await self._add(keys, (cost.usd or 0.0) - hold.usd)
        await self._c.count(
            "INSERT INTO costs (run_id, pipeline, step_id, item, attempt, provider, model,"
            " input_tokens, output_tokens, cached_tokens, usd, reservation_id, day, ts)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                hold.run_id,
                hold.pipeline,
                hold.step_id,
                hold.item,
                cost.attempt,
                hold.provider,
                hold.model,
                cost.input_tokens,
                cost.output_tokens,
                cost.cached_tokens,
                cost.usd,
                hold.id,
                hold.day,
                now,
            ),
        )

    async def release_hold(self, reservation_id: str, reason: str) -> None:
        """Give a held reservation back (the call failed without a reply to charge)."""
        rows = await self._c.rows(
            "UPDATE reservations SET state='released', usd=0, reason=?, settled_at=?"
            " WHERE id=? AND state='held' RETURNING run_id, pipeline, day, reserved_usd",
            (reason, time.time(), reservation_id),
        )
        for r in rows:
            await self._add(_all_keys(r[0], r[1], r[2]), -float(r[3]))

    async def settle_lost(self, attempt_ids: Collection[int]) -> int:
        """Charge the held reservations of abandoned attempts at their worst case.

        Their process died during the call, so its reply (and real cost) is lost while
        the provider may well have billed it: the reservation is kept as spent (state
        ``lost``; the scopes' sums do not change), never leaked as held and never
        silently forgotten.
        """
        if not attempt_ids:
            return 0
        ids = list(attempt_ids)
        return await self._c.count(
            "UPDATE reservations SET state='lost', reason='the process died during the call',"
            f" settled_at=? WHERE attempt_id IN ({marks(ids)}) AND state='held'",
            (time.time(), *ids),
        )

    async def clear_budget_stop(self, run_id: str) -> int:
        """Let a resumed run spend again: its refusals no longer stop it (budgets re-check)."""
        return await self._c.count(
            "UPDATE reservations SET state='dismissed' WHERE run_id=? AND state='denied'",
            (run_id,),
        )


class CostReads:
    """The cost ledger reads of :class:`~runwright.store.sql_store.SqlStore`."""

    __slots__ = ()

    async def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError  # supplied by the store

    async def costs(self, *, run_id: str | None = None) -> list[CostRecord]:
        """Ledger rows (of one run, or all), oldest first."""
        where, args = ("WHERE run_id=?", (run_id,)) if run_id else ("", ())
        rows = await self._rows(f"SELECT {COST_COLUMNS} FROM costs {where} ORDER BY id", args)
        return [cost_from_row(r) for r in rows]

    async def reservations(self, *, run_id: str | None = None) -> list[ReservationRecord]:
        """Budget reservations (of one run, or all), oldest first."""
        where, args = ("WHERE run_id=?", (run_id,)) if run_id else ("", ())
        rows = await self._rows(
            f"SELECT {RESERVATION_COLUMNS} FROM reservations {where} ORDER BY created_at, id", args
        )
        return [reservation_from_row(r) for r in rows]
