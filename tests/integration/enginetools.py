"""Helpers for the engine suites: step functions, a run helper, database reads."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from runwright.api import Session
from runwright.api.results import RunDetails, RunResult
from runwright.events import Event
from runwright.settings import Settings

Write = Callable[[str, str], Path]

STEPS_PY = """
import json, os
from pathlib import Path

HERE = Path(__file__).parent  # python steps run in the process cwd: anchor paths here

def record(name, value=None, log="calls.log"):
    with open(HERE / log, "a") as f:
        f.write(name + "\\n")
    return {"name": name, "value": value}

def add(a, b):
    return a + b

def flaky(name, fail_times):
    # Fails the first `fail_times` calls, counted in a file.
    counter = HERE / (name + ".count")
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))
    if n < fail_times:
        raise RuntimeError(f"flaky failure {n + 1}")
    return n + 1

def gate(flag):
    if not (HERE / flag).exists():
        raise ValueError(f"{flag} is missing")
    return "open"

def write_file(ctx, name, text):
    return ctx.workspace.write(name, text).result

def big(n):
    return "x" * n
"""


def settings_for(db_url: str, tmp_path: Path) -> Settings:
    """Like conftest's ``settings``, on the database ``db_url`` names."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNWRIGHT_")}
    return Settings(database_url=db_url, project_dir=tmp_path, env=env)


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query, read with the database's own driver (not through runwright)."""
    if url.startswith("postgresql://"):
        with psycopg.connect(url) as pg:
            return [tuple(r) for r in pg.execute(sql)]
    db = sqlite3.connect(url)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def dump_tables(url: str) -> list[Any]:
    """Every value in every table of the runwright schema."""
    if url.startswith("postgresql://"):
        listing = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    else:
        listing = "SELECT name FROM sqlite_master WHERE type = 'table'"
    tables = [t for (t,) in query(url, listing)]
    assert {"runs", "attempts", "events", "outputs", "blobs"} <= set(tables)
    return [value for t in tables for row in query(url, f"SELECT * FROM {t}") for value in row]


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().split() if log.exists() else []


async def run(
    settings: Settings, path: Path, **kwargs: Any
) -> tuple[RunResult, RunDetails, list[Event]]:
    """Start a run of ``path`` in a fresh session; its result, details and every event."""
    async with Session(settings) as s:
        result = await s.start_run(path, **kwargs)
        details = await s.details(result.run_id)
        events = await s.events(result.run_id, limit=100_000)
    return result, details, events
