"""Lost workers: SIGKILL and SIGSTOP a real worker mid-step; leases expire; late results fenced."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from workertools import Workers, enqueue, executions, run_status, write_pipeline

from clitools import wait_until
from runwright.store import open_store

BLOCKING = """
    name: blocking
    steps:
      - id: slow
        uses: python
        with: {function: "steps:block", args: ["LOG", "slow", "GATE"]}
      - id: after
        uses: python
        needs: [slow]
        with: {function: "steps:record", args: ["LOG", "after"]}
"""


def _pipeline(tmp_path: Path) -> tuple[Path, Path, Path]:
    log, gate = tmp_path / "executions.log", tmp_path / "gate"
    body = BLOCKING.replace("LOG", str(log)).replace("GATE", str(gate))
    return write_pipeline(tmp_path, body), log, gate


def _status(db: str, run_id: str) -> str:
    return asyncio.run(run_status(db, run_id))


async def _attempts(db: str, run_id: str, step: str) -> list[tuple[str, str | None, str | None]]:
    store = open_store(db)
    try:
        return [
            (str(a.state), a.reason, a.worker_id)
            for a in await store.attempts(run_id)
            if a.step_id == step
        ]
    finally:
        await store.close()


async def _output(db: str, run_id: str, step: str) -> dict[str, object]:
    store = open_store(db)
    try:
        value = await store.output(run_id, step, -1)
        assert isinstance(value, dict)
        return value
    finally:
        await store.close()


@pytest.mark.slow
def test_sigkilled_worker_step_finishes_elsewhere_after_lease_expiry(
    tmp_path: Path, workers: Workers
) -> None:
    pipeline, log, gate = _pipeline(tmp_path)
    run_id = enqueue(tmp_path, workers.db, pipeline)
    doomed = workers.start("--lease-seconds", "2", "--no-scheduler")
    wait_until(lambda: executions(log), 30)
    assert executions(log) == [("slow", executions(log)[0][1])]
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    gate.touch()
    survivor = workers.start("--lease-seconds", "2", "--no-scheduler")
    assert wait_until(lambda: _status(workers.db, run_id) == "succeeded", 60), workers.log(survivor)
    attempts = asyncio.run(_attempts(workers.db, run_id, "slow"))
    assert [(s, r) for s, r, _ in attempts] == [
        ("abandoned", "lease expired"),
        ("succeeded", "lease_expired"),
    ]
    assert attempts[0][2] != attempts[1][2]
    assert [k for k, _ in executions(log)] == ["slow", "slow", "after"]


@pytest.mark.slow
def test_late_result_of_a_frozen_worker_is_refused(tmp_path: Path, pg_workers: Workers) -> None:
    pipeline, log, gate = _pipeline(tmp_path)
    run_id = enqueue(tmp_path, pg_workers.db, pipeline)
    frozen = pg_workers.start("--lease-seconds", "2", "--no-scheduler")
    wait_until(lambda: executions(log), 30)
    frozen_pid = executions(log)[0][1]
    frozen.send_signal(signal.SIGSTOP)  # alive but silent: its lease runs out
    try:
        other = pg_workers.start("--lease-seconds", "2", "--no-scheduler")
        assert wait_until(lambda: len(executions(log)) >= 2, 60), pg_workers.log(other)
        gate.touch()
        assert wait_until(lambda: _status(pg_workers.db, run_id) == "succeeded", 60)
    finally:
        frozen.send_signal(signal.SIGCONT)
    # The frozen worker wakes, finishes its copy of the step and tries to commit it.
    assert wait_until(lambda: "result refused" in pg_workers.log(frozen), 30), pg_workers.log(
        frozen
    )
    output = asyncio.run(_output(pg_workers.db, run_id, "slow"))
    assert output["pid"] != frozen_pid
    states = [s for s, _, _ in asyncio.run(_attempts(pg_workers.db, run_id, "slow"))]
    assert states == ["abandoned", "succeeded"]
