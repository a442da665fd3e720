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
from runwright.schedule.cron import next_after
from runwright.settings import Settings
from runwright.store import open_store


def past_minutes_cron(now: float) -> tuple[str, float]:
    """A cron firing at the three whole minutes before ``now``, and a time before all three.

    Not ``* * * * *``: that fires again at the next minute boundary, and a test
    crossing one (about 5% of runs) saw a fourth fire time. These three minutes
    come back only an hour later, so the set of due fire times cannot change
    while the test runs.
    """
    minute = int(now // 60) * 60
    fires = [minute - 60 * k for k in (3, 2, 1)]
    minutes = ",".join(str(time.gmtime(f).tm_min) for f in fires)
    return f"{minutes} * * * *", fires[0] - 1


async def _add(db: str, pipeline: Path, tmp_path: Path, catchup: str) -> None:
    now = time.time()
    cron, added = past_minutes_cron(now)
    assert next_after(cron, "UTC", now) - now > 50 * 60  # no new fire time while we test
    async with Session(Settings(database_url=db, project_dir=tmp_path, env={})) as session:
        # Added before its three fire times: they are all due at once.
        await add_schedule(session, "every-minute", pipeline, cron=cron, catchup=catchup, now=added)


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
    expected = 3 if catchup == "all" else 1
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
