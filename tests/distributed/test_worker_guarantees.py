"""Guarantees the README makes about `runwright worker`: leases, drain, stop now, cancel.

Every test runs real worker processes against a real database and watches the steps'
own side effects (a log line per execution, the step's process group).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from workertools import Workers, enqueue, executions, run_status, write_pipeline

from clitools import clean_env, wait_until
from pgtools import base_url
from runwright.store import open_store


def _status(db: str, run_id: str) -> str:
    return asyncio.run(run_status(db, run_id))


def _cli(cwd: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwright", "--db", db, *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _attempts(db: str, run_id: str) -> list[tuple[str, int, str, str | None]]:
    """(step, item, state, reason) of every attempt of the run, oldest first."""
    store = open_store(db)
    try:
        return [(a.step_id, a.item, str(a.state), a.reason) for a in await store.attempts(run_id)]
    finally:
        await store.close()


def attempts(db: str, run_id: str) -> list[tuple[str, int, str, str | None]]:
    return asyncio.run(_attempts(db, run_id))


def group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is still in process group ``pgid`` (Linux /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


NAP = """
    name: nap
    steps:
      - id: nap
        uses: shell
        with: {run: "echo $$ > PIDFILE; until [ -e GATE ]; do sleep 0.05; done; echo nap >> LOG"}
      - id: after
        uses: shell
        needs: [nap]
        with: {run: "echo after >> LOG"}
"""


def _nap(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A step that waits for ``tmp_path/gate``, then one after it; both log to LOG."""
    pid_file, log = tmp_path / "nap.pid", tmp_path / "nap.log"
    body = NAP.replace("PIDFILE", str(pid_file)).replace("LOG", str(log))
    return write_pipeline(tmp_path, body.replace("GATE", str(tmp_path / "gate"))), pid_file, log


def _step_group(pid_file: Path) -> int:
    assert wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 30)
    return os.getpgid(int(pid_file.read_text()))


# --- leases ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_step_longer_than_three_leases_on_a_live_worker_runs_once(
    tmp_path: Path, workers: Workers
) -> None:
    log = tmp_path / "executions.log"
    pipeline = write_pipeline(
        tmp_path,
        f"""
    name: long
    steps:
      - id: long
        uses: python
        with: {{function: "steps:record", args: ["{log}", "long", 6.5]}}
    """,
    )
    # Two live workers with 2 s leases and a 6.5 s step: had the holder's heartbeat not
    # renewed its lease, the other one would have taken the step over.
    workers.start_many(2, "--lease-seconds", "2", "--no-scheduler")
    run_id = enqueue(tmp_path, workers.db, pipeline)
    assert wait_until(lambda: _status(workers.db, run_id) == "succeeded", 60)
    assert [k for k, _ in executions(log)] == ["long"]
    assert attempts(workers.db, run_id) == [("long", -1, "succeeded", None)]


@pytest.mark.postgres
def test_resume_of_a_run_a_worker_executes_is_refused(tmp_path: Path, pg_workers: Workers) -> None:
    pipeline, pid_file, _ = _nap(tmp_path)
    run_id = enqueue(tmp_path, pg_workers.db, pipeline)
    pg_workers.start("--no-scheduler")
    _step_group(pid_file)
    refused = _cli(tmp_path, pg_workers.db, "resume", run_id)
    assert refused.returncode == 5, (refused.stdout, refused.stderr)
    assert "Traceback" not in refused.stderr and refused.stderr.strip()
    assert attempts(pg_workers.db, run_id) == [
        ("nap", -1, "running", None),
        ("after", -1, "pending", None),
    ]


# --- drain hands back claimed-but-unstarted work ----------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
def test_drain_hands_back_claimed_but_unstarted_steps(tmp_path: Path, pg_workers: Workers) -> None:
    """A worker that claimed the next item in the commit a SIGTERM overtook gives it back.

    For a for_each item the commit claims the next item first, then counts the finished
    item on the parent's row. The test holds that row locked: the commit waits there
    with the next item claimed, the SIGTERM arrives, the lock goes, the commit ends.
    """
    import psycopg

    log, gate = tmp_path / "executions.log", tmp_path / "gate"
    pipeline = write_pipeline(
        tmp_path,
        f"""
    name: fan
    steps:
      - id: fan
        uses: python
        for_each: [0, 1, 2]
        with: {{function: "steps:block", args: ["{log}", "{{{{ item }}}}", "{gate}"]}}
    """,
    )
    run_id = enqueue(tmp_path, pg_workers.db, pipeline)
    first = pg_workers.start("--no-scheduler", "--concurrency", "1", name="first")
    assert wait_until(lambda: executions(log), 30), pg_workers.log(first)
    assert [k for k, _ in executions(log)] == ["0"]
    schema = pg_workers.db.split("search_path%3D", 1)[1].split("&", 1)[0]
    with (
        psycopg.connect(base_url()) as conn,
        psycopg.connect(base_url(), autocommit=True) as monitor,  # a fresh view per query
    ):
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(
            "SELECT id FROM attempts WHERE run_id = %s AND step_id = 'fan' AND item = -1"
            " FOR UPDATE",
            (run_id,),
        )
        gate.touch()

        def commit_waits_on_the_lock() -> bool:
            rows = monitor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                " AND wait_event_type = 'Lock' AND query LIKE %s",
                (schema, "%waiting_on=waiting_on-%"),  # the commit counting item 0
            ).fetchone()
            return bool(rows and rows[0])

        assert wait_until(commit_waits_on_the_lock, 30), pg_workers.log(first)
        first.send_signal(signal.SIGTERM)
        assert wait_until(lambda: "stopping" in pg_workers.log(first), 30), pg_workers.log(first)
        conn.rollback()  # the lock goes; the worker's commit (with its claim) ends
    assert first.wait(30) == 0, pg_workers.log(first)
    assert [k for k, _ in executions(log)] == ["0"]  # item 1 was claimed, never executed
    handed_back = [a for a in attempts(pg_workers.db, run_id) if a[1] == 1]
    assert handed_back == [
        ("fan", 1, "abandoned", "worker stopping"),
        ("fan", 1, "ready", "resumed"),
    ]
    second = pg_workers.start("--no-scheduler", name="second")
    assert wait_until(lambda: _status(pg_workers.db, run_id) == "succeeded", 60), pg_workers.log(
        second
    )
    ran = executions(log)
    assert sorted(k for k, _ in ran) == ["0", "1", "2"]  # each item executed exactly once
    assert {p for k, p in ran if k != "0"} == {second.pid}


# --- a second SIGTERM stops at once ---------------------------------------------------------


@pytest.mark.slow
def test_second_sigterm_cancels_in_flight_steps_at_once(tmp_path: Path, workers: Workers) -> None:
    pipeline, pid_file, log = _nap(tmp_path)
    run_id = enqueue(tmp_path, workers.db, pipeline)
    worker = workers.start("--no-scheduler")
    pgid = _step_group(pid_file)
    assert group_alive(pgid)
    worker.send_signal(signal.SIGTERM)
    assert wait_until(lambda: "stopping" in workers.log(worker), 30), workers.log(worker)
    assert worker.poll() is None and group_alive(pgid)  # draining: the step may finish
    worker.send_signal(signal.SIGTERM)
    code = worker.wait(30)  # the step would never have ended by itself
    assert code == 0, workers.log(worker)
    assert wait_until(lambda: not group_alive(pgid), 10), "the step's processes survived"
    assert not log.exists()  # the step never got to its end, `after` never ran
    assert attempts(workers.db, run_id) == [
        ("nap", -1, "cancelled", "cancelled"),
        ("after", -1, "pending", None),
        ("nap", -1, "ready", "resumed"),  # handed back: the worker stopped, not the run
    ]
    listed = json.loads(_cli(tmp_path, workers.db, "workers", "--all", "--json").stdout)
    assert [w["state"] for w in listed] == ["stopped"]
    # The run is not left `running` with nothing to run: the cancelled attempt is handed
    # back, and the next worker finishes the run.
    pid_file.unlink()
    other = workers.start("--no-scheduler")
    _step_group(pid_file)
    (tmp_path / "gate").touch()
    assert wait_until(lambda: _status(workers.db, run_id) == "succeeded", 60), workers.log(other)
    assert log.read_text().split() == ["nap", "after"]
    assert attempts(workers.db, run_id) == [
        ("nap", -1, "cancelled", "cancelled"),
        ("after", -1, "succeeded", None),
        ("nap", -1, "succeeded", "resumed"),
    ]


# --- cancel a run that workers execute --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
def test_cancel_kills_the_step_a_worker_runs_and_ends_the_run_cancelled(
    tmp_path: Path, pg_workers: Workers
) -> None:
    pipeline, pid_file, log = _nap(tmp_path)
    worker = pg_workers.start("--no-scheduler")
    waiter = subprocess.Popen(
        [sys.executable, "-m", "runwright", "--db", pg_workers.db, "run", str(pipeline), "--json"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pgid = _step_group(pid_file)
        run_id = str(
            json.loads(_cli(tmp_path, pg_workers.db, "runs", "--json").stdout)[0]["run_id"]
        )
        cancelled = _cli(tmp_path, pg_workers.db, "cancel", run_id)
        assert cancelled.returncode == 0, cancelled.stderr
        out, err = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 11, err  # the waiting `run` reports the cancel
    assert json.loads(out.splitlines()[-1])["status"] == "cancelled"
    assert wait_until(lambda: not group_alive(pgid), 30), "the step's processes survived"
    assert _status(pg_workers.db, run_id) == "cancelled"
    assert not log.exists()
    assert [a[:3] for a in attempts(pg_workers.db, run_id)] == [
        ("nap", -1, "cancelled"),
        ("after", -1, "pending"),
    ]
    assert worker.poll() is None  # the worker itself goes on serving
