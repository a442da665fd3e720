"""One benchmark workload per invocation, in a fresh process (so peak RSS is its own).

    python bench/workloads.py w1 --steps 1000 --durability normal
prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def chain_yaml(n: int, function: str = "bench_steps:noop", extra: str = "") -> str:
    lines = ["name: chain", "steps:"]
    for i in range(n):
        needs = f"\n    needs: [s{i - 1}]" if i else ""
        lines.append(
            f"  - id: s{i}\n    uses: python{needs}\n    with:\n"
            f"      function: {function}\n      args: {{i: {i}{extra}}}"
        )
    return "\n".join(lines) + "\n"


def fanout_yaml(n: int) -> str:
    lines = ["name: fanout", "steps:"]
    for i in range(n):
        lines.append(
            f"  - id: s{i}\n    uses: python\n    with:\n"
            f"      function: bench_steps:noop\n      args: {{i: {i}}}"
        )
    needs = ", ".join(f"s{i}" for i in range(n))
    lines.append(
        f"  - id: join\n    uses: python\n    needs: [{needs}]\n    with:\n"
        f"      function: bench_steps:join"
    )
    return "\n".join(lines) + "\n"


def each_yaml(n: int) -> str:
    """A list step of ``n`` items, a for_each no-op over them, then a step after it."""
    return (
        "name: each\nsteps:\n"
        "  - id: list\n    uses: python\n"
        f"    with: {{function: 'bench_steps:items', args: [{n}]}}\n"
        "  - id: each\n    uses: python\n    needs: [list]\n"
        "    for_each: '{{ steps.list.output }}'\n"
        "    with: {function: 'bench_steps:noop', args: {i: '{{ item }}'}}\n"
        "  - id: after\n    uses: python\n    needs: [each]\n"
        "    with: {function: 'bench_steps:join'}\n"
    )


def _settings(work: Path, durability: str):  # type: ignore[no-untyped-def]
    from runwright.settings import Settings

    return Settings.from_env(dict(os.environ), cwd=work, durability=durability)


def _write(work: Path, spec: str) -> Path:
    # The text is written and dropped: peak RSS is runwright's, not the harness's copy.
    path = work / "pipeline.yaml"
    path.write_text(spec)
    (work / "bench_steps.py").write_text((HERE / "bench_steps.py").read_text())
    return path


async def _run(work: Path, path: Path, durability: str, concurrency: int) -> dict[str, float]:
    from runwright.api import Session

    settings = _settings(work, durability)
    async with Session(settings) as session:
        t0 = time.perf_counter()
        result = await session.start_run(path, concurrency=concurrency)
        elapsed = time.perf_counter() - t0
    assert str(result.status) == "succeeded", result
    # exec: from the committed run.started to the committed run.succeeded (no spec parsing).
    # Read with sqlite3 rather than get_run, whose spec text would count in the peak RSS.
    with sqlite3.connect(settings.database_url) as db:
        [(started, finished)] = db.execute(
            "SELECT started_at, finished_at FROM runs WHERE id=?", (result.run_id,)
        ).fetchall()
    db.close()
    return {"seconds": elapsed, "exec_seconds": finished - started}


def raw_sqlite(n: int, durability: str, work: Path) -> float:
    """One committed row per step, the floor any durable engine pays."""
    conn = sqlite3.connect(work / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'strict' else 'NORMAL'}")
    conn.execute("CREATE TABLE steps (id INTEGER PRIMARY KEY, name TEXT, output TEXT)")
    t0 = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO steps (name, output) VALUES (?, ?)", (f"s{i}", str(i)))
        conn.execute("COMMIT")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=["w1", "w2", "each", "raw"])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--durability", default="normal")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.workload == "raw":
            result = {"seconds": raw_sqlite(args.steps, args.durability, work)}
        elif args.workload == "w1":
            result = asyncio.run(
                _run(work, _write(work, chain_yaml(args.steps)), args.durability, args.concurrency)
            )
        elif args.workload == "each":
            result = asyncio.run(
                _run(work, _write(work, each_yaml(args.steps)), args.durability, args.concurrency)
            )
        else:
            result = asyncio.run(
                _run(work, _write(work, fanout_yaml(args.steps)), args.durability, args.concurrency)
            )
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["steps"] = args.steps + {"w2": 1, "each": 3}.get(args.workload, 0)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
