"""Shared fixtures: real SQLite files and PostgreSQL schemas, pipelines written to disk."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pgtools import fresh_schema
from runwright.settings import Settings


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL with a fresh, empty schema (fails in CI if the server is missing)."""
    with fresh_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on both databases: a SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / ".runwright" / "runwright.db")
    else:
        with fresh_schema() as url:
            yield url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNWRIGHT_")}
    return Settings(
        database_url=str(tmp_path / ".runwright" / "runwright.db"), project_dir=tmp_path, env=env
    )


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a dedented file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return _write
