"""Breakers and rate limits shared by real `runwright worker` processes on one PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from workertools import Workers, enqueue, run_status, write_pipeline

from clitools import wait_until
from llmserver import LLMServer, Reply
from runwright.store import open_store
from runwright.store.records import BreakerRecord


@pytest.fixture
def servers() -> Iterator[tuple[LLMServer, LLMServer]]:
    with LLMServer() as a, LLMServer() as b:
        yield a, b


def configure(tmp_path: Path, a: LLMServer, b: LLMServer, a_extra: str) -> None:
    (tmp_path / "runwright.toml").write_text(
        f"""
[providers.a]
type = "openai"
base_url = "{a.openai_url}"
max_retries = 0
{a_extra}

[providers.b]
type = "openai"
base_url = "{b.openai_url}"

[models.m]
candidates = ["a:first", "b:second"]
"""
    )


def pipeline(tmp_path: Path, name: str, steps: int) -> Path:
    body = "\n".join(
        f"  - {{id: s{i}, uses: llm, with: {{model: m, prompt: '{name} {i}'}}}}"
        for i in range(steps)
    )
    return write_pipeline(tmp_path, f"name: {name}\nsteps:\n{body}\n")


def finish(workers: Workers, db: str, run_id: str) -> None:
    done = wait_until(lambda: asyncio.run(run_status(db, run_id)) == "succeeded", 60)
    assert done, workers.log(workers.procs[-1])


async def breaker(db: str, endpoint: str) -> BreakerRecord | None:
    store = open_store(db)
    try:
        async with store.transaction() as tx:
            return await tx.breaker(endpoint)
    finally:
        await store.close()


def cool_down_now(db: str, endpoint: str) -> None:
    """The breaker's cooldown ends now: the stored deadline moves, as time would move it."""
    import psycopg

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            "UPDATE breakers SET open_until = %s WHERE endpoint = %s", (time.time() - 1, endpoint)
        )


def endpoint(server: LLMServer) -> str:
    return f"a@{server.openai_url}"


def test_a_breaker_opened_by_one_worker_is_skipped_by_another_then_recovers(
    tmp_path: Path, pg_workers: Workers, servers: tuple[LLMServer, LLMServer]
) -> None:
    a, b = servers
    db = pg_workers.db
    # A cooldown no loaded machine can outlast between two phases; phase 3 ends it by
    # moving the stored deadline (what the clock would do), not by waiting.
    configure(tmp_path, a, b, "breaker_threshold = 2\nbreaker_cooldown = 600")
    a.script(Reply.error(500, "down"), Reply.error(500, "down"))
    first = pg_workers.start("--concurrency", "1", name="first")
    run1 = enqueue(tmp_path, db, pipeline(tmp_path, "one", 2))
    finish(pg_workers, db, run1)
    assert len(a.requests) == 2 and len(b.requests) == 2
    opened = asyncio.run(breaker(db, endpoint(a)))
    assert opened is not None and opened.state == "open" and opened.open_until is not None
    first.kill()
    first.wait(10)

    # Another process: the open breaker is in the database, so it sends nothing to a.
    pg_workers.start("--concurrency", "4", name="second")
    run2 = enqueue(tmp_path, db, pipeline(tmp_path, "two", 3))
    finish(pg_workers, db, run2)
    assert len(a.requests) == 2 and len(b.requests) == 5

    # Cooled down: with two workers racing, one call probes (slowly); none joins it.
    pg_workers.start("--concurrency", "4", name="third")
    cool_down_now(db, endpoint(a))
    a.script(Reply.slow(1.5, "probe answered"))
    run3 = enqueue(tmp_path, db, pipeline(tmp_path, "three", 6))
    finish(pg_workers, db, run3)
    probe = a.requests[2]
    during = [r for r in a.requests[2:] if r.at < probe.at + 1.5]
    assert during == [probe]  # exactly one caller probed the half-open breaker
    assert len(b.requests) > 5  # the others fell back while the probe was out
    closed = asyncio.run(breaker(db, endpoint(a)))
    assert closed is not None and closed.state == "closed" and closed.failures == 0
    # Recovered: a new run is answered by a again.
    before = len(a.requests)
    run4 = enqueue(tmp_path, db, pipeline(tmp_path, "four", 2))
    finish(pg_workers, db, run4)
    assert len(a.requests) == before + 2


def test_rpm_is_one_allowance_for_two_workers(
    tmp_path: Path, pg_workers: Workers, servers: tuple[LLMServer, LLMServer]
) -> None:
    a, b = servers
    db = pg_workers.db
    configure(tmp_path, a, b, "rpm = 3")
    pg_workers.start_many(2, "--concurrency", "4")
    # Starts at the top of a minute, so the run cannot straddle two windows.
    assert wait_until(lambda: time.time() % 60 < 45, 60)
    run = enqueue(tmp_path, db, pipeline(tmp_path, "many", 8))
    finish(pg_workers, db, run)
    assert len(a.requests) == 3  # the two workers together took three requests of a's minute
    assert len(b.requests) == 5
    assert len(asyncio.run(worker_ids(db, run))) == 2  # both workers ran steps


async def worker_ids(db: str, run_id: str) -> set[str | None]:
    store = open_store(db)
    try:
        return {x.worker_id for x in await store.attempts(run_id)}
    finally:
        await store.close()
