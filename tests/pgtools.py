"""PostgreSQL for tests: found at RUNWRIGHT_TEST_DATABASE_URL, one fresh schema per test.

In CI (CI=true) an unreachable server fails the tests that need it; elsewhere
they are skipped with the reason shown (``-ra``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from urllib.parse import parse_qs, quote, urlsplit

import pytest

DEFAULT_URL = "postgresql://127.0.0.1:5432/test"


def base_url() -> str:
    return os.environ.get("RUNWRIGHT_TEST_DATABASE_URL") or DEFAULT_URL


@cache
def unreachable_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]')"
    try:
        with psycopg.connect(base_url(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {base_url()} is unreachable: {exc}"
    return None


def require_postgres() -> None:
    reason = unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


def with_schema(url: str, schema: str) -> str:
    """``url`` with its tables in ``schema``; its connections are named after it too."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}&application_name={schema}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A database URL whose tables live in a new, empty schema, dropped afterwards."""
    import psycopg

    require_postgres()
    schema = f"rw_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(base_url(), schema)
    finally:
        with psycopg.connect(base_url(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def terminate_backends(url: str) -> int:
    """Kill every connection made with ``url`` (from :func:`fresh_schema`): a server-side cut.

    Only that test's connections: they carry its schema as application name.
    """
    import psycopg

    name = parse_qs(urlsplit(url).query)["application_name"][0]
    with psycopg.connect(base_url(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name = %s",
            (name,),
        ).fetchall()
    return len(rows)
