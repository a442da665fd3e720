"""PostgreSQL for tests: found at RUNWRIGHT_TEST_DATABASE_URL, one fresh schema per test.

In CI (CI=true) an unreachable server fails the tests that need it; elsewhere
they are skipped with the reason shown (``-ra``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import NoReturn
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
    if in_ci():
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


# -- a private server the test may restart ---------------------------------------------------

#: Where Debian/Ubuntu install the server binaries (initdb, pg_ctl), newest version first.
SERVER_BIN_GLOB = "/usr/lib/postgresql/*/bin"
#: The unprivileged OS user that runs the server when the tests run as root.
SERVER_USER = "postgres"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def server_bin() -> Path | None:
    """The directory holding initdb and pg_ctl: on PATH, else the newest Debian install."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent  # beside postgres itself (pg_ctl starts it)
    dirs = sorted(
        (p for p in Path(SERVER_BIN_GLOB.split("*")[0]).glob("*/bin") if p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
    )
    return dirs[-1] if dirs else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, in a temp dir on a free port, restartable.

    The server refuses to run as root, so as root it runs as :data:`SERVER_USER`
    (through ``runuser``); the cluster directory is made in ``/tmp`` and handed
    to that user, who cannot enter pytest's root-owned ``tmp_path``.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="rw-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = SERVER_USER
            pw = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self.url = f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        argv = [str(self.bindir / tool), *args]
        if self.user is not None:
            argv = ["runuser", "-u", self.user, "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise RuntimeError(
                f"{tool} {' '.join(args[:1])} failed ({proc.returncode}): "
                f"{proc.stderr.strip()}\n{log[-2000:]}"
            )

    def _ctl(self, action: str, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            # A test server: durability is not what is tested, speed is welcome.
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", action, "-D", str(self.data), "-l", str(self.logfile), "-w",
            "-o", options, *args,
        )  # fmt: skip

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", SERVER_USER, "--no-sync")
        self._ctl("start")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server comes back."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with suppress(Exception):
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Start a :class:`PrivatePostgres`; skip when that cannot be done (fail under CI=true)."""

    def cannot(reason: str) -> NoReturn:
        if in_ci():
            pytest.fail(f"{reason} (CI=true: this test must run, not skip)", pytrace=False)
        pytest.skip(reason)

    bindir = server_bin()
    if bindir is None:
        cannot(f"no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in {SERVER_BIN_GLOB}")
    try:
        server = PrivatePostgres(bindir)
    except KeyError:
        cannot(f"running as root, and there is no OS user {SERVER_USER!r} to run the server as")
    try:
        try:
            server.start()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            cannot(f"cannot start a private PostgreSQL server with {bindir}: {exc}")
        yield server
    finally:
        server.stop()
