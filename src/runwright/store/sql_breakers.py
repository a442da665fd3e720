"""Provider breakers and rate windows as written and read inside a transaction.

Only SQL: what a breaker or a limit decides lives in :mod:`runwright.providers.breaker`
and :mod:`runwright.providers.limits`. A row another process may decide on at the same
time is read with the dialect's row lock (SQLite's ``BEGIN IMMEDIATE`` already
serialises writers), so two workers never both take the one half-open probe or the
last request of a minute.
"""

from __future__ import annotations

from collections.abc import Collection

from runwright.store.records import BreakerRecord, RateWindow
from runwright.store.sql import Cursor, Dialect, Row, marks

BREAKER_COLUMNS = "endpoint, state, failures, open_until, probe_until, last_error, updated_at"
#: Rate windows older than this many minutes are deleted when a new one starts.
KEEP_MINUTES = 2


def _breaker(r: Row) -> BreakerRecord:
    return BreakerRecord(r[0], r[1], int(r[2]), r[3], r[4], r[5], float(r[6]))


class BreakerWrites:
    """The breaker and rate-window part of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ()
    _c: Cursor
    _d: Dialect

    async def breaker(self, endpoint: str, *, lock: bool = False) -> BreakerRecord | None:
        """One endpoint's breaker (None: never failed); ``lock`` holds its row until commit."""
        rows = await self._c.rows(
            f"SELECT {BREAKER_COLUMNS} FROM breakers WHERE endpoint=?"
            + (self._d.lock_row if lock else ""),
            (endpoint,),
        )
        return _breaker(rows[0]) if rows else None

    async def lock_breaker(self, endpoint: str, now: float) -> BreakerRecord:
        """One endpoint's breaker, created closed if new, its row locked until commit."""
        await self._c.count(
            "INSERT INTO breakers (endpoint, state, failures, updated_at) VALUES (?,'closed',0,?)"
            " ON CONFLICT (endpoint) DO NOTHING",
            (endpoint, now),
        )
        found = await self.breaker(endpoint, lock=True)
        assert found is not None  # just made sure it exists, and rows are never deleted
        return found

    async def put_breaker(self, b: BreakerRecord) -> None:
        """Write one endpoint's breaker, replacing what was there."""
        await self._c.count(
            f"INSERT INTO breakers ({BREAKER_COLUMNS}) VALUES (?,?,?,?,?,?,?)"
            " ON CONFLICT (endpoint) DO UPDATE SET state=excluded.state,"
            " failures=excluded.failures, open_until=excluded.open_until,"
            " probe_until=excluded.probe_until, last_error=excluded.last_error,"
            " updated_at=excluded.updated_at",
            (
                b.endpoint,
                b.state,
                b.failures,
                b.open_until,
                b.probe_until,
                b.last_error,
                b.updated_at,
            ),
        )

    async def breakers(self, endpoints: Collection[str] | None = None) -> list[BreakerRecord]:
        """Breakers of ``endpoints`` (every one when None), by endpoint."""
        if endpoints is not None and not endpoints:
            return []
        where, args = (
            ("", ())
            if endpoints is None
            else (f" WHERE endpoint IN ({marks(endpoints)})", tuple(endpoints))
        )
        rows = await self._c.rows(
            f"SELECT {BREAKER_COLUMNS} FROM breakers{where} ORDER BY endpoint", args
        )
        return [_breaker(r) for r in rows]

    async def lock_rate_window(self, endpoint: str, minute: int) -> RateWindow:
        """The endpoint's counts in ``minute``, created at zero if new, locked until commit."""
        created = await self._c.count(
            "INSERT INTO rate_windows (endpoint, minute, requests, tokens) VALUES (?,?,0,0)"
            " ON CONFLICT (endpoint, minute) DO NOTHING",
            (endpoint, minute),
        )
        if created:
            await self._c.count(
                "DELETE FROM rate_windows WHERE endpoint=? AND minute<?",
                (endpoint, minute - KEEP_MINUTES),
            )
        rows = await self._c.rows(
            "SELECT endpoint, minute, requests, tokens FROM rate_windows"
            f" WHERE endpoint=? AND minute=?{self._d.lock_row}",
            (endpoint, minute),
        )
        r = rows[0]
        return RateWindow(r[0], int(r[1]), int(r[2]), int(r[3]))

    async def add_to_rate_window(
        self, endpoint: str, minute: int, *, requests: int = 0, tokens: int = 0
    ) -> None:
        """Count requests and tokens in one window (created if new)."""
        await self._c.count(
            "INSERT INTO rate_windows (endpoint, minute, requests, tokens) VALUES (?,?,?,?)"
            " ON CONFLICT (endpoint, minute) DO UPDATE SET"
            " requests=rate_windows.requests+excluded.requests,"
            " tokens=rate_windows.tokens+excluded.tokens",
            (endpoint, minute, requests, tokens),
        )

    async def rate_windows(self, endpoints: Collection[str], minute: int) -> list[RateWindow]:
        """The windows of ``endpoints`` in ``minute`` that have counts (a plain read)."""
        if not endpoints:
            return []
        rows = await self._c.rows(
            "SELECT endpoint, minute, requests, tokens FROM rate_windows"
            f" WHERE minute=? AND endpoint IN ({marks(endpoints)}) ORDER BY endpoint",
            (minute, *endpoints),
        )
        return [RateWindow(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]
