"""Real `runwright worker` processes against a real database, for distributed tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from clitools import clean_env, wait_until
from runwright.store import open_store

#: A step module the pipelines below use: it records every execution in a log file.
STEPS = """
import os, time
from pathlib import Path

def record(log, key, pause=0):
    time.sleep(float(pause))  # long enough that every worker gets a share
    # One O_APPEND write per execution: lines from concurrent processes never interleave.
    with open(log, "a") as f:
        f.write(f"{key} {os.getpid()}\\n")
    return {"key": key, "pid": os.getpid()}

def items(n):
    return list(range(int(n)))

def block(log, key, gate, deadline=60):
    record(log, key)
    end = time.monotonic() + float(deadline)
    while not Path(gate).exists():
        if time.monotonic() > end:
            raise RuntimeError("gate never opened")
        time.sleep(0.02)
    return {"key": key, "pid": os.getpid()}
"""


class Workers:
    """Starts worker processes and makes sure none outlives the test."""

    def __init__(self, cwd: Path, db: str) -> None:
        self.cwd = cwd
        self.db = db
        self.procs: list[subprocess.Popen[str]] = []

    def start(
        self, *args: str, name: str = "w", env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[str]:
        """Start a worker; ``env`` adds variables to the cleaned environment."""
        with (self.cwd / f"{name}-{len(self.procs)}.log").open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "runwright", "worker", "--db", self.db, *args],
                cwd=self.cwd,
                env={**clean_env(), **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.procs.append(proc)
        return proc

    def start_many(self, count: int, *args: str) -> list[subprocess.Popen[str]]:
        """Start ``count`` workers and wait until each has registered as active."""
        procs = [self.start(*args) for _ in range(count)]
        assert wait_until(lambda: asyncio.run(self.active()) >= count, 60), self.log(procs[0])
        return procs

    async def active(self) -> int:
        store = open_store(self.db)
        try:
            return sum(1 for w in (await store.workers()).values() if w.state == "active")
        finally:
            await store.close()

    def log(self, proc: subprocess.Popen[str]) -> str:
        index = self.procs.index(proc)
        return next(self.cwd.glob(f"*-{index}.log")).read_text()

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(10)


@pytest.fixture
def workers(tmp_path: Path, db_url: str) -> Iterator[Workers]:
    """Worker processes on SQLite, then on PostgreSQL (the test runs twice)."""
    pool = Workers(tmp_path, db_url)
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def pg_workers(tmp_path: Path, pg_url: str) -> Iterator[Workers]:
    """Worker processes on a fresh PostgreSQL schema."""
    pool = Workers(tmp_path, pg_url)
    try:
        yield pool
    finally:
        pool.stop_all()


def write_pipeline(tmp_path: Path, body: str) -> Path:
    (tmp_path / "steps.py").write_text(STEPS)
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def enqueue(cwd: Path, db: str, pipeline: Path, *inputs: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "runwright", "--db", db, "run", str(pipeline), "--detach", "--json"]
        + [f"--input={i}" for i in inputs],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    return str(json.loads(proc.stdout)["run_id"])


async def run_status(db: str, run_id: str) -> str:
    store = open_store(db)
    try:
        return str((await store.get_run(run_id)).status)
    finally:
        await store.close()


def executions(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    return [(k, int(p)) for k, p in (ln.split() for ln in log.read_text().splitlines())]


def wait_for_file(path: Path, timeout: float = 30) -> None:
    assert wait_until(path.exists, timeout), f"{path} never appeared"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
