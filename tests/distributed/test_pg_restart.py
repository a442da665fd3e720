"""A real PostgreSQL server restarted (``pg_ctl restart -m fast``) under a 100-item fan-out.

The server is the test's own (see :func:`pgtools.private_postgres`), so restarting
it cuts every connection of the worker and of the waiting ``runwright run``, at
any point of an attempt: claiming, reading its item, committing its start or
its result, heartbeating, settling. The run must still succeed, with every
item committed exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from workertools import Workers, write_pipeline

from clitools import clean_env, wait_until
from pgtools import PrivatePostgres, private_postgres
from sideeffects import assert_exactly_once, attempts_of, executions, shell_log

ITEMS = 100


@pytest.fixture
def server() -> Iterator[PrivatePostgres]:
    with private_postgres() as pg:
        yield pg


@pytest.mark.slow
def test_run_succeeds_across_postgres_restarts_and_commits_each_item_once(
    tmp_path: Path, server: PrivatePostgres
) -> None:
    log = tmp_path / "side-effects.log"
    pipeline = write_pipeline(
        tmp_path,
        f"""
    name: restarted
    steps:
      - id: list
        uses: shell
        with: {{run: "seq 0 {ITEMS - 1}"}}
      - id: fan
        uses: shell
        needs: [list]
        for_each: "{{{{ steps.list.output.stdout.split() | map('int') | list }}}}"
        with:
          run: |
            {shell_log(log)}
            sleep 0.05
    """,
    )
    pool = Workers(tmp_path, server.url)

    def worker_log() -> str:
        return pool.log(pool.procs[0])

    try:
        pool.start_many(1, "--no-scheduler", "--concurrency", "8")
        waiter = subprocess.Popen(
            [sys.executable, "-m", "runwright", "--db", server.url, "run", str(pipeline), "--json"],
            cwd=tmp_path,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for at in (10, 25, 40, 55, 70):
                reached = wait_until(
                    lambda n=at: executions(log).total() >= n or waiter.poll() is not None, 60
                )
                assert reached and waiter.poll() is None, (waiter.communicate(), worker_log())
                server.restart()  # mid-run: the run has 100 items to execute, and ends by itself
            out, err = waiter.communicate(timeout=120)
        finally:
            if waiter.poll() is None:
                waiter.kill()
        assert waiter.returncode == 0, f"{err}\n{worker_log()}"
        result = json.loads(out.strip().splitlines()[-1])
        assert result["status"] == "succeeded", (result, worker_log())
        assert "waiting for the database" in worker_log(), "the worker never saw the outage"
        assert "outside a retried call" not in worker_log()
        attempts = attempts_of(server.url, result["run_id"])
    finally:
        pool.stop_all()
    assert_exactly_once(attempts, log, steps={"fan"})
    assert {a.item for a in attempts if a.step_id == "fan" and str(a.state) == "succeeded"} == {
        *range(ITEMS),
        -1,
    }
