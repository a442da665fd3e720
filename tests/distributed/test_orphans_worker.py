"""SIGKILL a PostgreSQL `runwright worker` mid shell step: a second worker re-runs it cleanly.

See tests/crash/test_orphans.py for the scenario; here the re-run comes from a lease
expiry on another worker instead of `resume`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from workertools import Workers, enqueue

from clitools import wait_until
from proctools import (
    assert_no_orphan_and_reported,
    first_attempt_running,
    kill_group,
    kill_runner,
    orphan_events,
    orphan_pipeline,
    run_status_of,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kill_watchdog", [False, True], ids=["watchdog", "watchdog-killed"])
def test_sigkilled_postgres_worker_then_lease_expiry(
    tmp_path: Path, pg_workers: Workers, kill_watchdog: bool
) -> None:
    pipeline = orphan_pipeline(tmp_path)
    run_id = enqueue(tmp_path, pg_workers.db, pipeline)
    doomed = pg_workers.start("--lease-seconds", "2", "--no-scheduler")
    pgid = 0
    try:
        pgid = first_attempt_running(tmp_path, pg_workers.db)
        kill_runner(doomed, pgid, kill_watchdog=kill_watchdog)
        survivor = pg_workers.start("--lease-seconds", "2", "--no-scheduler")
        assert wait_until(
            lambda: asyncio.run(run_status_of(pg_workers.db, run_id)) == "succeeded", 60
        ), pg_workers.log(survivor)
        events = asyncio.run(orphan_events(pg_workers.db, run_id))
        assert_no_orphan_and_reported(tmp_path, events, pgid, kill_watchdog=kill_watchdog)
    finally:
        if pgid:
            kill_group(pgid)
