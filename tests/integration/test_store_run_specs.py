"""A run's spec text in its own table (migration 0009), on SQLite and PostgreSQL alike.

Every claim and status read touches the runs row; with the text in it, SQLite
walked the text's overflow pages on each of them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from storetools import raw, run_record

from runwright.errors import NotFoundError
from runwright.states import RunStatus
from runwright.store import open_store
from runwright.store.migrate import migrations
from runwright.store.sql_store import SqlStore

SPEC = "name: big\nsteps:\n" + "".join(f"  - {{id: s{i}, uses: shell}}\n" for i in range(3000))


def _execute(db_url: str, statements: list[str], params: list[tuple[Any, ...]]) -> None:
    if db_url.startswith("postgresql"):
        with psycopg.connect(db_url, autocommit=True) as pg:
            for statement, args in zip(statements, params, strict=True):
                pg.execute(statement.replace("?", "%s"), args)
        return
    with sqlite3.connect(db_url) as conn:
        for statement, args in zip(statements, params, strict=True):
            conn.execute(statement, args)
    conn.close()


async def test_a_version_8_database_keeps_its_runs_specs(db_url: str) -> None:
    dialect = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    if dialect == "sqlite":
        Path(db_url).parent.mkdir(parents=True, exist_ok=True)
    v8 = [s for m in migrations(dialect) if m.version <= 8 for s in m.statements]
    statements = [
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at DOUBLE PRECISION NOT NULL)",
        *v8,
        *["INSERT INTO schema_migrations VALUES (?, ?, 0)"] * 8,
        "INSERT INTO runs (id, pipeline, spec_hash, spec_source, spec_path, inputs, options,"
        " status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
    ]
    params: list[tuple[Any, ...]] = [
        (),
        *[()] * len(v8),
        *[(m.version, m.name) for m in migrations(dialect) if m.version <= 8],
        ("rold", "big", "h", SPEC, None, "{}", "{}", "succeeded", 1.0, 2.0),
    ]
    _execute(db_url, statements, params)
    store = open_store(db_url)
    assert isinstance(store, SqlStore)
    try:
        old = await store.get_run("rold")
        assert (old.spec_source, old.status) == (SPEC, RunStatus.SUCCEEDED)
        assert await store.run_status("rold") is RunStatus.SUCCEEDED
        [(count,)] = await raw(store, "SELECT COUNT(*) FROM run_specs")
        assert count == 1
        async with store.transaction() as tx:
            await tx.insert_run(run_record("rnew"))
            await tx.set_run_status("rold", RunStatus.RUNNING, spec=("h2", "name: changed\n"))
        assert [r.id for r in await store.list_runs()] == ["rnew", "rold"]
        changed = await store.get_run("rold")
        assert (changed.spec_hash, changed.spec_source) == ("h2", "name: changed\n")
        assert (await store.get_run("rnew")).spec_source == run_record("rnew").spec_source
    finally:
        await store.close()
    # The runs row no longer holds the text.
    if dialect == "sqlite":
        with sqlite3.connect(db_url) as conn:
            columns = [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
        conn.close()
    else:
        with psycopg.connect(db_url) as pg:
            columns = [
                r[0]
                for r in pg.execute(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_name='runs' AND table_schema=current_schema()"
                )
            ]
    assert "spec_source" not in columns and "status" in columns


async def test_run_status_reads_one_exact_run(db_url: str) -> None:
    store = open_store(db_url)
    assert isinstance(store, SqlStore)
    try:
        async with store.transaction() as tx:
            await tx.insert_run(run_record("rabc", RunStatus.WAITING))
        assert await store.run_status("rabc") is RunStatus.WAITING
        # Exact ids only (poll loops hold a resolved id): a prefix is no run.
        with pytest.raises(NotFoundError, match="no run 'rab'"):
            await store.run_status("rab")
    finally:
        await store.close()
