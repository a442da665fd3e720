"""A secret canary, followed everywhere a value can go: it must never come out.

Two random 40-character secrets enter through the environment of the CLI and of a
real `runwright worker`: one under a name that looks secret (``DEMO_API_KEY``), one
under a plain name listed in ``RUNWRIGHT_SECRET_ENV``. Pipelines echo them from shell
steps (stdout, stderr, a failure), return them from python steps (small and blob-sized
outputs, and as the next step's input), and raise them in exceptions. Then neither
secret nor any 8-character piece of one may appear in what the CLI and the worker
printed, in `show`/`tail`/`export`, in the raw bytes of the SQLite file and its WAL,
or in any value of any table of the PostgreSQL schema.
"""

from __future__ import annotations

import json
import secrets
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from workertools import Workers, run_status, write_pipeline

from clitools import clean_env, wait_until

ALPHABET = string.ascii_letters + string.digits

STEPS = """
import os


def leak():
    key, target = os.environ["DEMO_API_KEY"], os.environ["DEPLOY_TARGET"]
    return {"key": key, "target": target, "nested": [f"<{key}>", {"t": target}]}


def leak_big():
    key = os.environ["DEMO_API_KEY"]
    # Past the 16 KiB blob threshold: stored in the blob table.
    return {"head": key, "pad": "x" * 20000, "tail": os.environ["DEPLOY_TARGET"]}


def explode():
    raise ValueError(f"bad key {os.environ['DEMO_API_KEY']} for {os.environ['DEPLOY_TARGET']}")


def echo(value):
    return {"echo": value}
"""

PIPELINE = """
    name: canary
    steps:
      - id: shell_out
        uses: shell
        with:
          run: |
            echo "key=$DEMO_API_KEY target=$DEPLOY_TARGET"
            echo "err {{ env.DEMO_API_KEY }} {{ env.DEPLOY_TARGET }}" >&2
      - id: shell_fail
        uses: shell
        on_failure: continue
        with: {run: "echo \\"fail $DEMO_API_KEY $DEPLOY_TARGET\\" >&2; exit 3"}
      - id: py_out
        uses: python
        with: {function: "canary_steps:leak"}
      - id: py_big
        uses: python
        with: {function: "canary_steps:leak_big"}
      - id: py_raise
        uses: python
        on_failure: continue
        with: {function: "canary_steps:explode"}
      - id: py_input
        uses: python
        needs: [py_out]
        with: {function: "canary_steps:echo", args: ["{{ steps.py_out.output.key }}"]}
"""


def canary() -> str:
    """40 random letters and digits: no fragment of it occurs by chance in ids or hashes."""
    return "".join(secrets.choice(ALPHABET) for _ in range(40))


def fragments(secret: str, size: int = 8) -> Iterator[str]:
    return (secret[i : i + size] for i in range(len(secret) - size + 1))


def assert_no_leak(where: str, data: str | bytes, *secrets_: str) -> None:
    """No 8-character piece of a secret in ``data``, as text or as hex (PostgreSQL's bytea)."""
    for secret in secrets_:
        for piece in fragments(secret):
            if isinstance(data, bytes):
                assert piece.encode() not in data, f"{where}: {piece!r} of a secret leaked"
            else:
                assert piece not in data, f"{where}: {piece!r} of a secret leaked"
                assert piece.encode().hex() not in data, f"{where}: {piece!r} leaked as hex"


def pg_values(url: str) -> list[tuple[str, str | bytes]]:
    """Every value of every table of the test's schema: (table, text or raw bytes)."""
    import psycopg

    values: list[tuple[str, str | bytes]] = []
    with psycopg.connect(url) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            ).fetchall()
        ]
        assert {"runs", "attempts", "events", "outputs", "blobs", "cache"} <= set(tables)
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}").fetchall():
                values += [(table, v if isinstance(v, bytes) else str(v)) for v in row]
            for (text,) in conn.execute(f"SELECT t::text FROM {table} t").fetchall():
                values.append((table, text))  # the row as PostgreSQL prints it, bytea as hex
    return values


@pytest.mark.slow
def test_secret_canary_never_leaks(tmp_path: Path, workers: Workers) -> None:
    key, target = canary(), canary()
    env = {
        "DEMO_API_KEY": key,
        "DEPLOY_TARGET": target,  # a name that does not look secret ...
        "RUNWRIGHT_SECRET_ENV": "SOMETHING_ELSE,DEPLOY_TARGET",  # ... listed as one
    }
    (tmp_path / "canary_steps.py").write_text(STEPS)
    pipeline = write_pipeline(tmp_path, PIPELINE)
    worker = workers.start("--no-scheduler", env=env)
    seen: list[tuple[str, str]] = []

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "runwright", "--db", workers.db, *args],
            cwd=tmp_path,
            env={**clean_env(), **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        seen.append((f"{args[0]} stdout", proc.stdout))
        seen.append((f"{args[0]} stderr", proc.stderr))
        return proc

    # One run the CLI waits for (its own process on SQLite, the worker on PostgreSQL),
    # one the worker executes in both cases.
    waited = cli("run", str(pipeline))
    assert waited.returncode in (0, 1), waited.stderr
    detached = cli("run", str(pipeline), "--detach", "--json")
    assert detached.returncode == 0, detached.stderr
    run_ids = [json.loads(detached.stdout)["run_id"]]
    runs = json.loads(cli("runs", "--json").stdout)
    run_ids.append(next(r["run_id"] for r in runs if r["run_id"] != run_ids[0]))

    def finished() -> bool:
        import asyncio

        return all(asyncio.run(run_status(workers.db, r)) != "running" for r in run_ids)

    assert wait_until(finished, 90), workers.log(worker)
    for run_id in run_ids:
        for args in (
            ("show", run_id),
            ("show", run_id, "--json"),
            ("tail", run_id),
            ("tail", run_id, "--json"),
            ("export", run_id),
            ("export", run_id, "--format", "jsonl"),
        ):
            assert cli(*args).returncode == 0, seen[-1]
    # The SQLite files while the worker still holds them open (the WAL goes at the last close).
    raw = {} if workers.db.startswith("postgresql://") else _files(Path(workers.db).parent)
    worker.terminate()
    assert worker.wait(30) == 0, workers.log(worker)
    seen.append(("worker output", workers.log(worker)))

    # The test reached every path: masked values stand where the secrets were.
    exported = "".join(text for where, text in seen if where == "export stdout")
    assert "fail *** ***" in exported  # a shell failure's stderr, in its error
    assert "bad key *** for ***" in exported  # a python exception's message
    for where, text in seen:
        assert_no_leak(where, text, key, target)

    if workers.db.startswith("postgresql://"):
        values = pg_values(workers.db)
        for table, value in values:
            assert_no_leak(f"table {table}", value, key, target)
        stored = "\n".join(
            v.decode(errors="replace") if isinstance(v, bytes) else v for _, v in values
        )
    else:
        assert {"runwright.db", "runwright.db-wal"} <= set(raw), sorted(raw)
        for name, data in [*raw.items(), *_files(Path(workers.db).parent).items()]:
            assert_no_leak(name, data, key, target)
        stored = b"".join(raw.values()).decode(errors="replace")
    for masked in (
        "key=*** target=***",  # shell stdout
        "err *** ***",  # shell stderr, the secret rendered by a template
        '"<***>"',  # a python output
        '"head": "***"',  # a blob-sized python output
        '"echo": "***"',  # a python step given the secret as its input
    ):
        assert masked in stored, masked


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
