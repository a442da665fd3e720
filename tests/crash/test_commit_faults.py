"""Kill the process during a step's commit and right after it (RUNWRIGHT_FAULT), then recover.

On SQLite the run's own process dies and ``runwright resume`` carries on; on
PostgreSQL a worker dies and another worker takes over once the lease expires.
A chain of shell steps logs every execution (idempotency key, attempt number):
killed during the commit, exactly the step being committed runs again; killed
after it, nothing runs again, not even the next step, which that commit had
already started.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from clitools import clean_env, cli, wait_until
from runwright.states import AttemptState
from runwright.store import open_store
from runwright.store.records import AttemptRecord
from sideeffects import assert_exactly_once, attempts_of, executions, key_of, shell_log

STEPS = 6
CUT = "s2"  # the step whose commit is cut
NEXT = "s3"  # the step that commit claims and starts


def write_chain(tmp_path: Path, log: Path) -> Path:
    steps = "".join(
        f"  - id: s{i}\n    uses: shell\n"
        + (f"    needs: [s{i - 1}]\n" if i else "")
        + f"    with: {{run: {shell_log(log)!r}}}\n"
        for i in range(STEPS)
    )
    path = tmp_path / "chain.yaml"
    path.write_text(f"name: chain\nsteps:\n{steps}")
    return path


def only_run(db: str) -> str:
    async def read() -> str:
        store = open_store(db)
        try:
            runs = await store.list_runs()
            assert len(runs) == 1, runs
            return runs[0].id
        finally:
            await store.close()

    return asyncio.run(read())


def committed(attempts: list[AttemptRecord]) -> set[str]:
    return {a.step_id for a in attempts if a.state is AttemptState.SUCCEEDED}


def check(point: str, db: str, run_id: str, log: Path, at_cut: list[AttemptRecord]) -> None:
    """The guarantee, from the attempt records at the cut and at the end, and the log."""
    done_at_cut = committed(at_cut)
    final = attempts_of(db, run_id)
    ran_again = assert_exactly_once(final, log, steps={f"s{i}" for i in range(STEPS)})
    by_step = {a.step_id: a for a in final}
    if point == "during_commit":
        # The step had acted; its commit was rolled back with the process.
        assert done_at_cut == {"s0", "s1"}, at_cut
        assert ran_again == {key_of(by_step[CUT]): [1, 2]}, executions(log)
    else:
        assert done_at_cut == {"s0", "s1", CUT}, at_cut
        assert ran_again == {}, executions(log)
        # The cut commit had started the next step (intent committed with it), which
        # had not acted: it gets a new attempt and acts once, in that attempt.
        first = next(a for a in at_cut if a.step_id == NEXT)
        assert first.state is AttemptState.RUNNING, at_cut
        assert {n for (k, n) in executions(log) if k.endswith(f":{NEXT}")} == {2}
    # Nothing committed at the cut ran after it.
    assert all(a.number == 1 for a in final if a.step_id in done_at_cut), final


@pytest.mark.parametrize("point", ["during_commit", "after_commit"])
def test_sqlite_run_killed_at_a_commit_then_resumed(tmp_path: Path, point: str) -> None:
    log = tmp_path / "side-effects.log"
    write_chain(tmp_path, log)
    db = str(tmp_path / ".runwright" / "runwright.db")
    proc = subprocess.run(
        [sys.executable, "-m", "runwright", "run", "chain.yaml"],
        cwd=tmp_path,
        env={**clean_env(), "RUNWRIGHT_FAULT": f"{point}:{CUT}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -9, (proc.returncode, proc.stderr)
    assert "RUNWRIGHT_FAULT: killing this process" in proc.stderr
    run_id = only_run(db)
    at_cut = attempts_of(db, run_id)
    resumed = cli(tmp_path, "resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    check(point, db, run_id, log, at_cut)
    assert {a.reason for a in attempts_of(db, run_id) if a.number > 1} == {"resumed"}


def start_worker(
    cwd: Path, db: str, name: str, *, concurrency: int = 1, **env: str
) -> subprocess.Popen[str]:
    # One at a time (unless told) and short leases: the heir takes over within seconds.
    options = ["--no-scheduler", "--concurrency", str(concurrency), "--lease-seconds", "2"]
    with (cwd / f"{name}.log").open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "runwright", "worker", "--db", db, *options],
            cwd=cwd,
            env={**clean_env(), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )


def kill_all(*procs: subprocess.Popen[str] | None) -> None:
    """Leave no worker of the test running."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)


def run_status(db: str, run_id: str) -> str:
    async def read() -> str:
        store = open_store(db)
        try:
            return str((await store.get_run(run_id)).status)
        finally:
            await store.close()

    return asyncio.run(read())


@pytest.mark.slow
@pytest.mark.parametrize("point", ["during_commit", "after_commit"])
def test_postgres_worker_killed_at_a_commit_then_another_takes_over(
    tmp_path: Path, pg_url: str, point: str
) -> None:
    log = tmp_path / "side-effects.log"
    write_chain(tmp_path, log)
    queued = cli(tmp_path, "--db", pg_url, "run", "chain.yaml", "--detach")
    assert queued.returncode == 0, queued.stderr
    run_id = only_run(pg_url)
    doomed = start_worker(tmp_path, pg_url, "doomed", RUNWRIGHT_FAULT=f"{point}:{CUT}")
    heir: subprocess.Popen[str] | None = None
    try:
        assert doomed.wait(60) == -9, (tmp_path / "doomed.log").read_text()
        assert "RUNWRIGHT_FAULT: killing this process" in (tmp_path / "doomed.log").read_text()
        at_cut = attempts_of(pg_url, run_id)
        heir = start_worker(tmp_path, pg_url, "heir")
        succeeded = wait_until(lambda: run_status(pg_url, run_id) == "succeeded", 60)
        assert succeeded, (tmp_path / "heir.log").read_text()
    finally:
        kill_all(doomed, heir)
    check(point, pg_url, run_id, log, at_cut)
    assert {a.reason for a in attempts_of(pg_url, run_id) if a.number > 1} == {"lease_expired"}


def test_a_malformed_fault_is_refused_before_anything_runs(tmp_path: Path) -> None:
    write_chain(tmp_path, tmp_path / "side-effects.log")
    proc = subprocess.run(
        [sys.executable, "-m", "runwright", "run", "chain.yaml"],
        cwd=tmp_path,
        env={**clean_env(), "RUNWRIGHT_FAULT": "before_lunch:s2"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "RUNWRIGHT_FAULT='before_lunch:s2' is not POINT:STEP" in proc.stderr
    assert "during_commit, after_commit" in proc.stderr
    assert not (tmp_path / "side-effects.log").exists()


@pytest.mark.slow
def test_postgres_worker_killed_committing_a_group_of_items_loses_only_that_group(
    tmp_path: Path, pg_url: str
) -> None:
    # Items that finish while another item's commit is in flight commit together: a
    # kill there loses the whole group, and exactly its items run again.
    log = tmp_path / "side-effects.log"
    items = list(range(12))
    (tmp_path / "fan.yaml").write_text(
        "name: fan\nsteps:\n  - id: each\n    uses: shell\n"
        f"    for_each: {items}\n    with: {{run: {shell_log(log)!r}}}\n"
    )
    queued = cli(tmp_path, "--db", pg_url, "run", "fan.yaml", "--detach")
    assert queued.returncode == 0, queued.stderr
    run_id = only_run(pg_url)
    cut = "each[6]"
    doomed = start_worker(
        tmp_path, pg_url, "doomed", concurrency=4, RUNWRIGHT_FAULT=f"during_commit:{cut}"
    )
    heir: subprocess.Popen[str] | None = None
    try:
        assert doomed.wait(60) == -9, (tmp_path / "doomed.log").read_text()
        at_cut = attempts_of(pg_url, run_id)
        ran_at_cut = {k for k, _ in executions(log)}
        heir = start_worker(tmp_path, pg_url, "heir", concurrency=4)
        succeeded = wait_until(lambda: run_status(pg_url, run_id) == "succeeded", 60)
        assert succeeded, (tmp_path / "heir.log").read_text()
    finally:
        kill_all(doomed, heir)
    done_at_cut = {key_of(a) for a in at_cut if a.item >= 0 and a.state is AttemptState.SUCCEEDED}
    lost = ran_at_cut - done_at_cut  # acted, and their commit died with the process
    assert f"{run_id}:{cut}" in lost, (lost, at_cut)
    final = attempts_of(pg_url, run_id)
    ran_again = assert_exactly_once(final, log, steps={"each"})
    assert ran_again == {key: [1, 2] for key in lost}, executions(log)
