"""`workers` shows lost workers; Ctrl-C of a `run` waiting for workers says what becomes of it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clitools import clean_env, cli, wait_until
from pgtools import fresh_schema
from runwright.store import open_store
from runwright.store.records import WorkerRecord

ONE_STEP = "name: p\nsteps:\n  - {id: a, uses: shell, with: {run: 'echo done'}}\n"


class Procs:
    """Background `runwright` processes that never outlive the test."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        n = len(self.procs)
        with (self.cwd / f"p{n}.err").open("w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "runwright", *args],
                cwd=self.cwd,
                env=clean_env(),
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def stderr(self, proc: subprocess.Popen[str]) -> str:
        return (self.cwd / f"p{self.procs.index(proc)}.err").read_text()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    pool = Procs(tmp_path)
    try:
        yield pool
    finally:
        for p in pool.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)


def workers_json(cwd: Path, db: str) -> dict[int, dict[str, object]]:
    result = cli(cwd, "--db", db, "workers", "--json")
    assert result.returncode == 0, result.stderr
    return {int(str(w["pid"])): w for w in json.loads(result.stdout)}


def rows(cwd: Path, db: str, *flags: str) -> dict[str, str]:
    """worker id -> state, from the human table."""
    result = cli(cwd, "--db", db, "workers", *flags)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()[1:]  # below the header
    return {line.split()[0]: line.split()[1] for line in lines if line.strip()}


# --- 16: lost workers are shown by default ------------------------------------------------


def test_a_killed_worker_is_listed_as_lost_and_a_stopped_one_only_with_all(
    tmp_path: Path, procs: Procs
) -> None:
    db = str(tmp_path / "state.db")
    args = ("worker", "--db", db, "--lease-seconds", "1", "--no-scheduler")
    doomed, survivor = procs.start(*args), procs.start(*args)
    assert wait_until(lambda: len(workers_json(tmp_path, db)) == 2, 60), [
        procs.stderr(p) for p in (doomed, survivor)
    ]
    ids = {pid: str(w["worker_id"]) for pid, w in workers_json(tmp_path, db).items()}
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(10)
    # The survivor's reaper marks the silent one lost; `workers` (no --all) shows it.
    assert wait_until(lambda: rows(tmp_path, db).get(ids[doomed.pid]) == "lost", 30), rows(
        tmp_path, db
    )
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(30) == 0, procs.stderr(survivor)
    shown = rows(tmp_path, db)
    assert shown == {ids[doomed.pid]: "lost"}  # stopped workers only with --all
    assert rows(tmp_path, db, "--all") == {ids[doomed.pid]: "lost", ids[survivor.pid]: "stopped"}


def test_a_worker_silent_past_its_lease_is_lost_even_if_nobody_marked_it(tmp_path: Path) -> None:
    db = str(tmp_path / "state.db")

    async def register() -> None:
        store = open_store(db)
        try:
            now = time.time()
            await store.register_worker(
                WorkerRecord("w-alone", "host", 1, "active", 1, [], now - 600, now - 300)
            )
        finally:
            await store.close()

    asyncio.run(register())  # as a lone worker leaves its row after SIGKILL
    assert rows(tmp_path, db) == {"w-alone": "lost"}
    listed = json.loads(cli(tmp_path, "--db", db, "workers", "--json").stdout)
    assert [w["state"] for w in listed] == ["lost"]


# --- 8: Ctrl-C of a run that waits for workers --------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


async def _status(url: str, run_id: str) -> str:
    store = open_store(url)
    try:
        return str((await store.get_run(run_id)).status)
    finally:
        await store.close()


@pytest.mark.postgres
def test_ctrl_c_of_a_run_waiting_for_workers_exits_130_and_says_what_becomes_of_it(
    tmp_path: Path, procs: Procs, pg_url: str
) -> None:
    (tmp_path / "p.yaml").write_text(ONE_STEP)
    proc = procs.start("--db", pg_url, "run", "p.yaml")
    assert wait_until(lambda: "no live worker" in procs.stderr(proc), 60), procs.stderr(proc)
    match = re.search(r"run (\S+) of p", procs.stderr(proc))
    assert match, procs.stderr(proc)
    run_id = match.group(1)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    assert proc.wait(30) == 130, procs.stderr(proc)
    said = " ".join(procs.stderr(proc).split())
    assert "Traceback" not in said
    assert f"run {run_id} stays queued in" in said
    assert "any `runwright worker` on this database picks it up" in said
    assert f"runwright cancel {run_id}" in said
    assert f"runwright resume {run_id} --local" in said
    assert asyncio.run(_status(pg_url, run_id)) == "running"
    # The advice works: the run finishes here.
    resumed = cli(tmp_path, "--db", pg_url, "resume", run_id, "--local", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.splitlines()[-1])["status"] == "succeeded"
