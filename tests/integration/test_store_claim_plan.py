"""A claim walks the ready attempts in id order and stops after LIMIT rows.

Migration 0008: with the ready index on (state, not_before), every claim sorted all
ready attempts (SQLite's "USE TEMP B-TREE FOR ORDER BY"), so a for_each of N items
cost O(N) per claim and O(N²) in all (10,000 items: 19.7 s, 5.6 s after). The plan
of the claim statement runwright really sends is checked here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from storetools import claim, seed

from runwright.store import open_store
from runwright.store.sql_store import SqlStore


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement the SQLite connections opened from now on execute."""
    seen: list[str] = []
    connect = sqlite3.connect

    def traced(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)  # type: ignore[arg-type]
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    yield seen


@pytest.mark.parametrize("scoped", [True, False], ids=["run", "any-run"])
async def test_the_claim_uses_the_ready_index_in_order_without_sorting(
    tmp_path: Path, statements: list[str], scoped: bool
) -> None:
    db = tmp_path / "r.db"
    store = open_store(str(db))
    assert isinstance(store, SqlStore)
    try:
        await seed(store, "r1", [f"s{i}" for i in range(500)])
        statements.clear()
        kwargs = {"run_id": "r1"} if scoped else {}
        got = await claim(store, limit=4, **kwargs)
    finally:
        await store.close()
    assert [a.step_id for a in got] == ["s0", "s1", "s2", "s3"]  # oldest first
    sql = next(s for s in statements if s.startswith("UPDATE attempts SET worker_id="))
    with sqlite3.connect(db) as conn:
        plan = " | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
    assert ("attempts_ready_run" if scoped else "attempts_ready") in plan, plan
