"""The Store protocol on both databases: provider breakers and rate windows (migration 0006)."""

from __future__ import annotations

import asyncio

from runwright.store import open_store
from runwright.store.records import BreakerRecord, RateWindow
from runwright.store.sql_store import SqlStore


async def test_a_breaker_is_written_replaced_and_listed(store: SqlStore) -> None:
    async with store.transaction() as tx:
        assert await tx.breaker("a@x") is None
        await tx.put_breaker(BreakerRecord("a@x", "open", 3, 50.0, None, "down", 10.0))
        await tx.put_breaker(BreakerRecord("b@y", "closed", 1, None, None, None, 11.0))
    async with store.transaction() as tx:
        assert await tx.breaker("a@x", lock=True) == BreakerRecord(
            "a@x", "open", 3, 50.0, None, "down", 10.0
        )
        await tx.put_breaker(BreakerRecord("a@x", "half_open", 3, 50.0, 70.0, "down", 60.0))
    async with store.transaction() as tx:
        assert [b.endpoint for b in await tx.breakers()] == ["a@x", "b@y"]
        [only] = await tx.breakers(["a@x", "zzz"])
        assert only.state == "half_open" and only.probe_until == 70.0
        assert await tx.breakers([]) == []


async def test_lock_breaker_creates_a_closed_row_once(store: SqlStore) -> None:
    async with store.transaction() as tx:
        first = await tx.lock_breaker("a@x", 5.0)
    async with store.transaction() as tx:
        again = await tx.lock_breaker("a@x", 9.0)
    assert first == again == BreakerRecord("a@x", "closed", 0, None, None, None, 5.0)


async def test_rate_windows_count_requests_and_tokens_per_minute(store: SqlStore) -> None:
    async with store.transaction() as tx:
        assert await tx.lock_rate_window("a@x", 100) == RateWindow("a@x", 100, 0, 0)
        await tx.add_to_rate_window("a@x", 100, requests=1)
        await tx.add_to_rate_window("a@x", 100, tokens=40)
        await tx.add_to_rate_window("b@y", 100, requests=2, tokens=5)
    async with store.transaction() as tx:
        assert await tx.lock_rate_window("a@x", 100) == RateWindow("a@x", 100, 1, 40)
        windows = await tx.rate_windows(["a@x", "b@y", "c@z"], 100)
        assert windows == [RateWindow("a@x", 100, 1, 40), RateWindow("b@y", 100, 2, 5)]
        assert await tx.rate_windows([], 100) == []
        # A new minute starts from zero and drops windows that no limit reads any more.
        assert await tx.lock_rate_window("a@x", 103) == RateWindow("a@x", 103, 0, 0)
        assert await tx.rate_windows(["a@x"], 100) == []


async def test_concurrent_takers_never_share_the_last_request_of_a_minute(db_url: str) -> None:
    # Two stores (two connections, as two workers would have) race for one request.
    stores = [open_store(db_url) for _ in range(2)]
    await stores[0].list_runs()  # migrate once before the race

    async def take(s: object) -> bool:
        assert isinstance(s, SqlStore)
        async with s.transaction() as tx:
            w = await tx.lock_rate_window("a@x", 7)
            if w.requests >= 1:
                return False
            await tx.add_to_rate_window("a@x", 7, requests=1)
            return True

    try:
        results = await asyncio.gather(*(take(s) for s in stores for _ in range(5)))
    finally:
        for s in stores:
            await s.close()
    assert sorted(results) == [False] * 9 + [True]
