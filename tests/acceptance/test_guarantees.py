"""Guarantees the README makes about one `runwright` process, checked through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from clitools import clean_env, cli, wait_until
from runwright.store import open_store

#: Step functions the pipelines below call (next to the pipeline file).
STEPS_PY = """
import gc, os, sqlite3, time
from pathlib import Path


async def pragmas(ctx):
    # Async: runs on the engine's event loop, so it reads the engine's own connections
    # (those of this process) between two of its queries, never beside one.
    found = set()
    for conn in gc.get_objects():
        if not isinstance(conn, sqlite3.Connection):
            continue
        try:
            files = [row[2] for row in conn.execute("PRAGMA database_list")]
        except sqlite3.ProgrammingError:  # closed
            continue
        if any(f.endswith("runwright.db") for f in files):  # not, say, coverage's own
            found.add(conn.execute("PRAGMA synchronous").fetchone()[0])
    return {"synchronous": sorted(found)}


def stamp(counter):
    # A value that differs on every execution, and a count of executions.
    path = Path(counter)
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return {"n": n, "ns": time.time_ns()}


def whoami(log):
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\\n")
    return {"pid": os.getpid()}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def output_of(cwd: Path, run_id: str, step: str, db: str | None = None) -> Any:
    """A step's committed output, read from the database the run used."""
    import asyncio

    async def read() -> Any:
        store = open_store(db or str(cwd / ".runwright" / "runwright.db"))
        try:
            return await store.output(run_id, step, -1)
        finally:
            await store.close()

    return asyncio.run(read())


# --- resume is refused while a live process executes the run ------------------------------


def test_resume_of_a_run_a_live_process_executes_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        "slow.yaml",
        """
        name: slow
        steps:
          - id: nap
            uses: shell
            with:
              run: "echo $$ > nap.pid; while [ ! -e go ]; do sleep 0.05; done; echo ran >> ran.log"
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "runwright", "run", "slow.yaml", "--json"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert wait_until((tmp_path / "nap.pid").exists, 30), "the step never started"
        run_id = ok_json(cli(tmp_path, "runs", "--json"))[0]["run_id"]
        refused = cli(tmp_path, "resume", run_id)
        assert refused.returncode == 5, (refused.stdout, refused.stderr)
        assert "Traceback" not in refused.stderr and refused.stderr.strip()
        assert proc.poll() is None  # the live run is untouched ...
        (tmp_path / "go").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["status"] == "succeeded"
    assert (tmp_path / "ran.log").read_text() == "ran\n"  # ... and its step ran once


# --- RUNWRIGHT_DATABASE_URL ------------------------------------------------------------------


ONE_STEP = """
    name: one
    steps:
      - id: who
        uses: python
        with: {function: "steps:whoami", args: ["LOG"]}
"""


def _one_step(tmp_path: Path) -> Path:
    write(tmp_path, "steps.py", STEPS_PY)
    return write(tmp_path, "one.yaml", ONE_STEP.replace("LOG", str(tmp_path / "who.log")))


def test_database_url_from_the_environment_is_used_without_db(tmp_path: Path) -> None:
    _one_step(tmp_path)
    elsewhere = tmp_path / "state" / "elsewhere.db"
    elsewhere.parent.mkdir()
    env = {"RUNWRIGHT_DATABASE_URL": str(elsewhere)}
    run_id = ok_json(cli(tmp_path, "run", "one.yaml", "--json", env=env))["run_id"]
    assert elsewhere.exists()
    assert not (tmp_path / ".runwright").exists()  # the default place was not used
    runs = ok_json(cli(tmp_path, "runs", "--json", env=env))
    assert [r["run_id"] for r in runs] == [run_id]
    with sqlite3.connect(elsewhere) as conn:
        assert conn.execute("SELECT id, status FROM runs").fetchall() == [(run_id, "succeeded")]
    # --db wins over the environment.
    other = tmp_path / "other.db"
    ok_json(cli(tmp_path, "--db", str(other), "run", "one.yaml", "--json", env=env))
    with sqlite3.connect(other) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    with sqlite3.connect(elsewhere) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)


@pytest.mark.postgres
def test_database_url_from_the_environment_reaches_postgres_and_local_runs_here(
    tmp_path: Path, pg_url: str
) -> None:
    """`--local` on PostgreSQL executes in the CLI's own process, with no worker anywhere."""
    _one_step(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runwright", "run", "one.yaml", "--local", "--json"],
        cwd=tmp_path,
        env={**clean_env(), "RUNWRIGHT_DATABASE_URL": pg_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    result = json.loads(out.splitlines()[-1])
    assert result["status"] == "succeeded"
    assert not (tmp_path / ".runwright").exists()
    # The step ran inside the CLI process itself: no worker was involved.
    assert (tmp_path / "who.log").read_text().split() == [str(proc.pid)]
    assert output_of(tmp_path, result["run_id"], "who", pg_url) == {"pid": proc.pid}


# --- --durability ----------------------------------------------------------------------------

PRAGMAS = """
    name: pragmas
    steps:
      - id: p
        uses: python
        with: {function: "steps:pragmas"}
"""


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), {}, [1]),  # NORMAL
        (("--durability", "strict"), {}, [2]),  # FULL
        ((), {"RUNWRIGHT_DURABILITY": "strict"}, [2]),
        (("--durability", "normal"), {"RUNWRIGHT_DURABILITY": "strict"}, [1]),
    ],
    ids=["default-normal", "flag-strict", "env-strict", "flag-wins"],
)
def test_durability_sets_synchronous_on_the_engines_connections(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], expected: list[int]
) -> None:
    write(tmp_path, "steps.py", STEPS_PY)
    write(tmp_path, "pragmas.yaml", PRAGMAS)
    run_id = ok_json(cli(tmp_path, *args, "run", "pragmas.yaml", "--json", env=env))["run_id"]
    assert output_of(tmp_path, run_id, "p") == {"synchronous": expected}


# --- --no-cache ------------------------------------------------------------------------------

CACHED = """
    name: cached
    steps:
      - id: s
        uses: python
        cache: true
        with: {function: "steps:stamp", args: ["COUNTER"]}
"""


def _cache_rows(db: Path) -> list[tuple[str, str, float]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT key, value, created_at FROM cache").fetchall()


def test_no_cache_refreshes_the_entry_that_later_runs_hit(tmp_path: Path) -> None:
    write(tmp_path, "steps.py", STEPS_PY)
    write(tmp_path, "cached.yaml", CACHED.replace("COUNTER", str(tmp_path / "counter")))
    db = tmp_path / ".runwright" / "runwright.db"

    first = ok_json(cli(tmp_path, "run", "cached.yaml", "--json"))["run_id"]
    [(key, value1, created1)] = _cache_rows(db)
    assert json.loads(value1)["n"] == 1

    refreshed = ok_json(cli(tmp_path, "run", "cached.yaml", "--no-cache", "--json"))["run_id"]
    assert (tmp_path / "counter").read_text() == "2"  # executed despite the entry
    [(key2, value2, created2)] = _cache_rows(db)
    assert key2 == key
    assert json.loads(value2)["n"] == 2 and value2 != value1  # the entry now holds run 2's
    assert created2 > created1
    assert output_of(tmp_path, refreshed, "s")["n"] == 2

    hit = ok_json(cli(tmp_path, "run", "cached.yaml", "--json"))["run_id"]
    assert (tmp_path / "counter").read_text() == "2"  # not executed: a hit
    assert output_of(tmp_path, hit, "s") == json.loads(value2)
    hits = cli(tmp_path, "tail", hit, "--json", "--type", "cache.hit")
    assert hits.returncode == 0, hits.stderr
    [event] = [json.loads(line) for line in hits.stdout.splitlines()]
    assert event["data"]["from_run"] == refreshed != first
