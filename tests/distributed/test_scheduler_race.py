"""Three worker processes run the scheduler at once: each fire time starts one run."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from workertools import Workers, write_pipeline

from clitools import wait_until
from runwright.api import Session
from runwright.api.schedules import add_schedule
from runwright.settings import Settings
from runwright.store import open_store


async def _add(db: str, pipeline: Path, tmp_path: Path, catchup: str) -> None:
    async with Session(Settings(database_url=db, project_dir=tmp_path, env={})) as session:
        # Added "three minutes ago": its missed fire times are due at once.
        await add_schedule(
            session,
            "every-minute",
            pipeline,
            cron="* * * * *",
            catchup=catchup,
            now=time.time() - 180,
        )


async def _state(db: str) -> tuple[list[tuple[int, str]], list[str]]:
    store = open_store(db)
    try:
        fires = await store.schedule_fires("every-minute")
        runs = [str(r.status) for r in await store.list_runs(limit=100)]
        return fires, runs
    finally:
        await store.close()


@pytest.mark.slow
@pytest.mark.parametrize("catchup", ["all", "latest"])
def test_three_racing_schedulers_start_one_run_per_fire_time(
    tmp_path: Path, workers: Workers, catchup: str
) -> None:
    log = tmp_path / "executions.log"
    pipeline = write_pipeline(
        tmp_path,
        f"""
    name: scheduled
    steps:
      - id: once
        uses: python
        with: {{function: "steps:record", args: ["{log}", "once"]}}
    """,
    )
    procs = workers.start_many(3, "--scheduler-interval", "0.1")
    asyncio.run(_add(workers.db, pipeline, tmp_path, catchup))
    expected = 3 if catchup == "all" else 1  # minute boundaries in the last 180 s: 3
    assert wait_until(lambda: len(asyncio.run(_state(workers.db))[0]) >= expected, 60)
    # Let every scheduler tick many more times over the same (now past) fire times.
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        fires, runs = asyncio.run(_state(workers.db))
        assert len(fires) == expected and len(runs) == expected
    assert len({t for t, _ in fires}) == expected
    assert wait_until(lambda: asyncio.run(_state(workers.db))[1] == ["succeeded"] * expected, 60)
    assert len(log.read_text().splitlines()) == expected
    winners = {p.pid for p in procs if "started run" in workers.log(p)}
    assert winners, "some scheduler must have logged the fire"
