"""Fixtures of the integration tests (the database ones are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from runwright.store import open_store
from runwright.store.sql_store import SqlStore


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    """An open SQL store on each database of ``db_url`` (SQLite, then PostgreSQL)."""
    s = open_store(db_url)
    assert isinstance(s, SqlStore)
    try:
        yield s
    finally:
        await s.close()
