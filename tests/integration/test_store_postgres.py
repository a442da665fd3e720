"""What only PostgreSQL does: concurrent claimers, NOTIFY wake-ups, lost connections."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import cast

import psycopg
import pytest
from storetools import A, claim, eventually, raw, run_record

from pgtools import fresh_schema, terminate_backends
from runwright.errors import StoreUnavailable
from runwright.store import open_store
from runwright.store.migrate import migrations
from runwright.store.postgres import PostgresStore, describe
from runwright.store.records import NewAttempt


@pytest.fixture
async def stores(pg_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on one schema: two pools, as two worker processes would have."""
    a, b = open_store(pg_url), open_store(pg_url)
    assert isinstance(a, PostgresStore) and isinstance(b, PostgresStore)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def ready_attempts(store: PostgresStore, n: int, run_id: str = "r1") -> list[int]:
    async with store.transaction() as tx:
        await tx.insert_run(run_record(run_id))
        await tx.insert_attempts([NewAttempt(run_id, f"s{i}", 1, A.READY) for i in range(n)])
    return [a.id for a in await store.attempts(run_id)]


async def test_two_pools_claim_every_attempt_exactly_once(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = stores
    ids = await ready_attempts(a, 200)
    claimed: list[tuple[str, int]] = []

    async def claimer(store: PostgresStore, name: str) -> None:
        while batch := await claim(store, name, limit=7):
            claimed.extend((name, x.id) for x in batch)

    names = [f"{s}-{i}" for s in "ab" for i in range(4)]
    await asyncio.gather(*(claimer(a if n[0] == "a" else b, n) for n in names))
    counts = Counter(attempt_id for _, attempt_id in claimed)
    assert sorted(counts) == sorted(ids) and set(counts.values()) == {1}
    stored = {x.id: x for x in await b.attempts("r1")}
    assert all(stored[i].state is A.LEASED for i in ids)
    assert {(stored[i].worker_id, i) for i in ids} == {(n, i) for n, i in claimed}
    assert len({n for n, _ in claimed}) > 1  # the claimers really did run side by side


async def wait_for_listener(store: PostgresStore) -> asyncio.Event:
    """The work signal, once its LISTEN connection is up (it sets the event on connect)."""
    signal = store.work_signal()
    assert await eventually(signal.is_set, timeout=10), "LISTEN connection never came up"
    signal.clear()
    return signal


async def stays_unset(signal: asyncio.Event, seconds: float = 0.3) -> bool:
    """Watch the signal for a bounded time; True if it was never set."""
    return not await eventually(signal.is_set, timeout=seconds)


async def test_notify_wakes_only_stores_of_the_same_schema(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    # Several runwright schemas in one database (tenants, or parallel test runs) share the
    # NOTIFY channel; ready work in one must not wake the workers of another.
    a, b = stores
    with fresh_schema() as other_url:
        other = open_store(other_url)
        assert isinstance(other, PostgresStore)
        try:
            signal = await wait_for_listener(a)
            async with other.transaction() as tx:
                await tx.insert_run(run_record("elsewhere"))
                await tx.insert_attempts([NewAttempt("elsewhere", "x", 1, A.READY)])
            assert await stays_unset(signal)
            await ready_attempts(b, 1)
            assert await eventually(signal.is_set), "no wake-up for ready work in its own schema"
        finally:
            await other.close()


async def test_notify_wakes_another_store_only_when_work_is_left(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = stores
    signal = await wait_for_listener(a)
    async with b.transaction() as tx:  # made ready and claimed it all: nothing to wake for
        await tx.insert_run(run_record("r1"))
        await tx.insert_attempts([NewAttempt("r1", "x", 1, A.READY)])
        assert len(await tx.claim(worker_id="b", limit=5, now=time.time(), lease_until=1e12)) == 1
    with pytest.raises(RuntimeError):  # made ready but rolled back: nothing committed
        async with b.transaction() as tx:
            await tx.insert_attempts([NewAttempt("r1", "y", 1, A.READY)])
            raise RuntimeError("abort")
    async with b.transaction() as tx:  # pending work only
        await tx.insert_attempts([NewAttempt("r1", "z", 1, A.PENDING, waiting_on=1)])
    assert await stays_unset(signal)
    async with b.transaction() as tx:
        await tx.release("r1", ["z"])
    assert await eventually(signal.is_set), "no wake-up after ready work was committed"
    assert [x.step_id for x in await claim(a, "a")] == ["z"]


async def test_listener_comes_back_after_its_connection_is_killed(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = stores
    signal = await wait_for_listener(a)
    await b.list_runs()
    assert terminate_backends(a.url) >= 1
    # On reconnecting it sets the signal: work may have come while it was not listening.
    assert await eventually(signal.is_set, timeout=10)
    signal.clear()

    async def commit_ready_work() -> bool:
        try:
            await ready_attempts(b, 1, "r2")
        except StoreUnavailable:
            await b.reset_connections()
            return False
        return True

    assert await eventually(commit_ready_work, timeout=10)
    assert await eventually(signal.is_set)


async def test_transactions_recover_after_backends_are_terminated(pg_url: str) -> None:
    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    await ready_attempts(store, 1, "before")
    assert terminate_backends(pg_url) >= 1
    outcomes: list[str] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            async with store.transaction() as tx:
                await tx.insert_run(run_record("after"))
            outcomes.append("ok")
            break
        except StoreUnavailable as exc:
            assert "check that the server runs" in str(exc)
            outcomes.append("unavailable")
            await store.reset_connections()
    # The next transaction may meet the dead connection; after one reset it succeeds.
    assert outcomes in (["ok"], ["unavailable", "ok"]), outcomes
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs WHERE id='after'").fetchone() == (1,)
    assert [r.id for r in await store.list_runs()] == ["after", "before"]
    assert await raw(store, "SELECT COUNT(*) FROM attempts") == [(1,)]
    await store.close()


async def test_unreachable_server_names_it_and_never_the_password() -> None:
    url = "postgresql://u:s3cretCANARY@127.0.0.1:1/x"
    assert describe(url) == "postgresql://127.0.0.1:1/x"
    store = open_store(url)  # opens lazily: constructing never blocks or fails
    try:
        with pytest.raises(StoreUnavailable) as info:
            await store.list_runs()
    finally:
        await store.close()
    message = str(info.value)
    assert "127.0.0.1:1" in message
    assert "check that the server runs" in message and "RUNWRIGHT_DATABASE_URL" in message
    seen = [message, repr(info.value.fields), str(info.value.__cause__)]
    assert not any("s3cretCANARY" in text for text in seen)


async def test_refused_connection_fails_fast_with_the_reason() -> None:
    store = open_store("postgresql://u:s3cretCANARY@127.0.0.1:1/x")
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailable) as info:
            await store.list_runs()
    finally:
        await store.close()
    assert "Connection refused" in str(info.value)
    assert time.monotonic() - started < 5


async def test_stores_starting_together_migrate_once(pg_url: str) -> None:
    many = [cast(PostgresStore, open_store(pg_url)) for _ in range(4)]
    try:
        assert await asyncio.gather(*(s.list_runs() for s in many)) == [[]] * 4
        rows = await raw(many[0], "SELECT version FROM schema_migrations ORDER BY version")
    finally:
        for s in many:
            await s.close()
    assert [v for (v,) in rows] == [m.version for m in migrations("postgresql")]
