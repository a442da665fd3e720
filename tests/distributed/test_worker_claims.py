"""An idle worker starts what it claims in the claim itself, as a chain does.

The claim and the start are one commit: ``step.started`` is durable with the lease
and ``started_at`` is the claim's time (the lease runs from that same instant), so
the wake-up a person waits for ends at the claim, and no second transaction runs
before the step acts.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from workertools import Workers, enqueue, executions, write_pipeline

from clitools import wait_until
from runwright.events import EventType
from runwright.states import AttemptState
from runwright.store import open_store
from runwright.store.records import AttemptRecord

LEASE = 30.0


def _read(db: str, run_id: str) -> tuple[list[AttemptRecord], list[str]]:
    async def read() -> tuple[list[AttemptRecord], list[str]]:
        store = open_store(db)
        try:
            events = await store.events(run_id, types=[str(EventType.STEP_STARTED)])
            return await store.attempts(run_id), [str(e.step_id) for e in events]
        finally:
            await store.close()

    return asyncio.run(read())


def test_an_idle_worker_starts_what_it_claims_in_the_claim(
    tmp_path: Path, workers: Workers
) -> None:
    log, gate = tmp_path / "executions.log", tmp_path / "gate"
    pipeline = write_pipeline(
        tmp_path,
        f"""
    name: claims
    steps:
      - id: py
        uses: python
        with: {{function: "steps:block", args: ["{log}", "py", "{gate}"]}}
      - id: sh
        uses: shell
        with: {{run: "python3 -c 'import steps; steps.block(\\"{log}\\", \\"sh\\", \\"{gate}\\")'"}}
    """,
    )
    workers.start_many(1, "--lease-seconds", str(LEASE), "--no-scheduler")
    run_id = enqueue(tmp_path, workers.db, pipeline)
    assert wait_until(lambda: len(executions(log)) == 2, 60), workers.log(workers.procs[0])
    attempts, started = _read(workers.db, run_id)
    assert {a.step_id: a.state for a in attempts} == {
        "py": AttemptState.RUNNING,
        "sh": AttemptState.RUNNING,
    }
    for a in attempts:
        # Started by the statement that leased it: the same clock reading for both.
        assert a.started_at is not None and a.lease_expires is not None
        assert a.lease_expires - a.started_at == pytest.approx(LEASE, abs=1e-4), a
    assert sorted(started) == ["py", "sh"]  # one step.started each, none twice
    gate.write_text("open\n")
    assert wait_until(
        lambda: {a.state for a in _read(workers.db, run_id)[0]} == {AttemptState.SUCCEEDED}, 60
    )
    assert sorted(k for k, _ in executions(log)) == ["py", "sh"]
