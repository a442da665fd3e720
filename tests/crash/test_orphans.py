"""SIGKILL the process that runs a shell step: its processes must not finish beside the re-run.

The step writes ``start``, sleeps 30 s, writes ``end``. After a SIGKILL of the
runner (``runwright run`` on SQLite, a ``runwright worker`` on PostgreSQL) and a
re-run (``resume``, or a second worker once the lease expired), the first
attempt's ``end`` must never appear, and when the new attempt starts no process
of the old group may be alive (the new attempt checks that itself).

Two layers see to it: the runner's watchdog kills the group at once; with the
watchdog SIGKILLed too, the whole group lives on, and the re-run's orphan check
must kill it and say so in an event.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from clitools import clean_env, cli
from proctools import (
    assert_no_orphan_and_reported,
    first_attempt_running,
    kill_group,
    kill_runner,
    orphan_events,
    orphan_pipeline,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kill_watchdog", [False, True], ids=["watchdog", "watchdog-killed"])
def test_sigkilled_run_then_resume_on_sqlite(tmp_path: Path, kill_watchdog: bool) -> None:
    pipeline = orphan_pipeline(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runwright", "run", str(pipeline)],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pgid = 0
    try:
        pgid = first_attempt_running(tmp_path, str(tmp_path / ".runwright" / "runwright.db"))
        kill_runner(proc, pgid, kill_watchdog=kill_watchdog)
        runs = json.loads(cli(tmp_path, "runs", "--json").stdout)
        run_id = runs[0]["run_id"]

        resumed = cli(tmp_path, "resume", run_id, "--json")
        assert resumed.returncode == 0, resumed.stderr
        assert json.loads(resumed.stdout.strip().splitlines()[-1])["status"] == "succeeded"
        db = str(tmp_path / ".runwright" / "runwright.db")
        events = asyncio.run(orphan_events(db, run_id))
        assert_no_orphan_and_reported(tmp_path, events, pgid, kill_watchdog=kill_watchdog)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if pgid:
            kill_group(pgid)
