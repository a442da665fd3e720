"""Helpers for the store suites: seed rows through the Store protocol, read raw rows back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from runwright.states import AttemptState, RunStatus
from runwright.store.records import AttemptRecord, NewAttempt, RunRecord
from runwright.store.sql_store import SqlStore

A = AttemptState


def run_record(
    run_id: str, status: RunStatus = RunStatus.RUNNING, *, created: float | None = None
) -> RunRecord:
    now = time.time() if created is None else created
    return RunRecord(
        run_id, "pipe", "hash", "spec: source", None, {"x": 1}, status, now, now, {"o": True}
    )


async def seed(
    store: SqlStore,
    run_id: str = "r1",
    steps: Sequence[str] = ("a",),
    *,
    status: RunStatus = RunStatus.RUNNING,
    state: AttemptState = A.READY,
    **fields: Any,
) -> list[AttemptRecord]:
    """Insert a run and one first attempt per step; return the run's attempts."""
    async with store.transaction() as tx:
        await tx.insert_run(run_record(run_id, status))
        await tx.insert_attempts([NewAttempt(run_id, s, 1, state, **fields) for s in steps])
    return await store.attempts(run_id)


async def claim(
    store: SqlStore,
    worker_id: str = "w1",
    limit: int = 100,
    *,
    lease_for: float = 60.0,
    **kwargs: Any,
) -> list[AttemptRecord]:
    now = time.time()
    async with store.transaction() as tx:
        return await tx.claim(
            worker_id=worker_id, limit=limit, now=now, lease_until=now + lease_for, **kwargs
        )


async def raw(store: SqlStore, sql: str, args: Sequence[Any] = ()) -> list[Any]:
    """Rows of one statement in the shared ``?`` SQL, run in a store transaction."""
    async with store.transaction() as tx:
        return [tuple(r) for r in await tx.cursor.rows(sql, args)]


async def by_id(store: SqlStore, run_id: str) -> dict[int, AttemptRecord]:
    return {a.id: a for a in await store.attempts(run_id)}


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 5.0) -> bool:
    """Poll ``check`` until it holds or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        ok = await result if not isinstance(result, bool) else result
        if ok or time.monotonic() >= deadline:
            return ok
        await asyncio.sleep(0.01)
