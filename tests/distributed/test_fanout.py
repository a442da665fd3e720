"""Several worker processes share one database: every step runs exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from workertools import Workers, enqueue, executions, run_status, write_pipeline

from clitools import wait_until
from runwright.store import open_store

FANOUT = """
    name: fanout
    inputs:
      n: {type: integer}
    steps:
      - id: list
        uses: python
        with: {function: "steps:items", args: ["{{ inputs.n }}"]}
      - id: each
        uses: python
        needs: [list]
        for_each: "{{ steps.list.output }}"
        with: {function: "steps:record", args: ["LOG", "item-{{ item }}", 0.02]}
      - id: join
        uses: python
        needs: [each]
        with: {function: "steps:record", args: ["LOG", "join"]}
"""


def _fanout(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "executions.log"
    return write_pipeline(tmp_path, FANOUT.replace("LOG", str(log))), log


def _finished(db: str, run_id: str) -> str | None:
    status = asyncio.run(run_status(db, run_id))
    return status if status in ("succeeded", "failed", "cancelled") else None


async def _attempt_workers(db: str, run_id: str) -> Counter[str]:
    store = open_store(db)
    try:
        attempts = await store.attempts(run_id)
    finally:
        await store.close()
    assert all(a.state.finished for a in attempts if not a.superseded)
    return Counter(a.worker_id or "" for a in attempts if a.item >= 0)


def _check_exactly_once(log: Path, n: int) -> set[int]:
    runs = executions(log)
    keys = Counter(k for k, _ in runs)
    assert keys == Counter({**{f"item-{i}": 1 for i in range(n)}, "join": 1})
    return {pid for _, pid in runs}


@pytest.mark.slow
def test_two_workers_complete_a_fanout_exactly_once(tmp_path: Path, workers: Workers) -> None:
    n = 200 if workers.db.startswith("postgresql://") else 100
    pipeline, log = _fanout(tmp_path)
    workers.start_many(2, "--concurrency", "4", "--no-scheduler")
    run_id = enqueue(tmp_path, workers.db, pipeline, f"n={n}")
    assert wait_until(lambda: _finished(workers.db, run_id), 120) == "succeeded"
    pids = _check_exactly_once(log, n)
    assert len(pids) == 2, "both workers should have taken part"
    by_worker = asyncio.run(_attempt_workers(workers.db, run_id))
    assert len(by_worker) == 2 and sum(by_worker.values()) == n


@pytest.mark.slow
def test_three_postgres_workers_complete_500_steps_exactly_once(
    tmp_path: Path, pg_workers: Workers
) -> None:
    pipeline, log = _fanout(tmp_path)
    pg_workers.start_many(3, "--concurrency", "4", "--no-scheduler")
    run_id = enqueue(tmp_path, pg_workers.db, pipeline, "n=500")
    assert wait_until(lambda: _finished(pg_workers.db, run_id), 180) == "succeeded"
    pids = _check_exactly_once(log, 500)
    assert len(pids) == 3, "all three workers should have taken part"


@pytest.mark.slow
def test_two_postgres_workers_complete_500_steps_exactly_once(
    tmp_path: Path, pg_workers: Workers
) -> None:
    pipeline, log = _fanout(tmp_path)
    pg_workers.start_many(2, "--concurrency", "4", "--no-scheduler")
    run_id = enqueue(tmp_path, pg_workers.db, pipeline, "n=500")
    assert wait_until(lambda: _finished(pg_workers.db, run_id), 180) == "succeeded"
    assert len(_check_exactly_once(log, 500)) == 2
