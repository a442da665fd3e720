"""Helpers for bench/distributed.py: databases, worker processes, runs, measurements."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from runwright.store import Store
from runwright.store.records import AttemptRecord, RunRecord

PY = sys.executable
FINISHED = ("succeeded", "failed", "cancelled")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of processes (all their threads), from /proc; 0 where unreadable."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def postgres_pids() -> list[int]:
    """Every local process named postgres (the server's, shared with any other client)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def clean_env() -> dict[str, str]:
    """The environment without RUNWRIGHT_* settings, so --db alone picks the database."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RUNWRIGHT_")}


def fanout_yaml(n: int, label: str | None = None) -> str:
    """W2: one list step producing ``n`` items, a for_each no-op over them, then a join.

    With ``label``, every step needs a worker carrying it.
    """
    needs = f"    labels: [{label}]\n" if label else ""
    return (
        "name: fanout\nsteps:\n"
        f"  - id: list\n    uses: python\n{needs}"
        f"    with: {{function: 'bench_steps:items', args: [{n}]}}\n"
        f"  - id: each\n    uses: python\n    needs: [list]\n{needs}"
        "    for_each: '{{ steps.list.output }}'\n"
        "    with: {function: 'bench_steps:noop', args: {i: '{{ item }}'}}\n"
        f"  - id: join\n    uses: python\n    needs: [each]\n{needs}"
        "    with: {function: 'bench_steps:join'}\n"
    )


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A URL whose tables live in a new schema, dropped afterwards (as tests/pgtools.py)."""
    import psycopg

    schema = f"rwbench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{joiner}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def postgres_version(base_url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(base_url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except Exception:
        return None
    return str(row[0]) if row else None


class WorkerPool:
    """K ``runwright worker`` processes; waits until each is registered active."""

    def __init__(
        self, url: str, work: Path, profile_dir: Path | None = None, label: str | None = None
    ) -> None:
        self.url = url
        self.work = work
        self.profile_dir = profile_dir
        self.label = label
        self.procs: list[subprocess.Popen[bytes]] = []

    def command(self, tag: str) -> list[str]:
        args = ["worker", "--db", self.url, "--no-scheduler", "--concurrency", "4"]
        if self.label:
            args += ["--label", self.label]
        if self.profile_dir is None:
            return [PY, "-m", "runwright", *args]
        out = self.profile_dir / f"{tag}-{len(self.procs)}.prof"
        return [PY, "-m", "cProfile", "-o", str(out), "-m", "runwright", *args]

    async def start(self, k: int, store: Store, tag: str, timeout: float = 60.0) -> float:
        """Start ``k`` workers; return the seconds until all were active."""
        t0 = time.perf_counter()
        for i in range(k):
            with (self.work / f"worker-{tag}-{i}.log").open("wb") as log:
                self.procs.append(
                    subprocess.Popen(
                        self.command(tag),
                        cwd=self.work,
                        env=clean_env(),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        pids = {p.pid for p in self.procs}
        while True:
            active = {w.pid for w in (await store.workers()).values() if w.state == "active"}
            if pids <= active:
                return time.perf_counter() - t0
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.perf_counter() - t0 > timeout:
                self.stop()
                raise RuntimeError(f"workers did not start; see {self.work}/worker-{tag}-*.log")
            await asyncio.sleep(0.05)

    def cpu(self) -> float:
        return cpu_seconds([p.pid for p in self.procs])

    def stop(self) -> None:
        """SIGTERM (drain), wait; SIGKILL whatever is left after 30 s."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()


def enqueue(url: str, pipeline: Path, work: Path) -> str:
    """``runwright --db URL run FILE --detach --json``: the run id."""
    done = subprocess.run(
        [PY, "-m", "runwright", "--db", url, "run", str(pipeline), "--detach", "--json"],
        cwd=work,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"enqueue failed ({done.returncode}): {done.stderr}")
    return str(json.loads(done.stdout)["run_id"])


async def wait_finished(
    store: Store, run_id: str, *, timeout: float = 900.0, every: float = 0.05
) -> RunRecord:
    deadline = time.monotonic() + timeout
    while True:
        run = await store.get_run(run_id)
        if str(run.status) in FINISHED:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {run.status} after {timeout:.0f}s")
        await asyncio.sleep(every)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN if empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def executed(attempts: list[AttemptRecord]) -> list[AttemptRecord]:
    """Attempts that ran a function: not a for_each parent (it only waits for its items)."""
    fanned = {a.step_id for a in attempts if a.item >= 0}
    return [
        a
        for a in attempts
        if a.started_at is not None
        and a.finished_at is not None
        and not (a.item < 0 and a.step_id in fanned)
    ]


async def measure(store: Store, run: RunRecord) -> dict[str, Any]:
    """Throughput and ready-to-start latency of one finished run, from the database."""
    attempts = await store.attempts(run.id)
    ran = executed(attempts)
    first = min(a.started_at for a in ran if a.started_at is not None)
    last = max(a.finished_at for a in ran if a.finished_at is not None)
    latencies = await store.latencies(run.id)
    share = Counter(a.worker_id or "?" for a in ran)
    return {
        "status": str(run.status),
        "steps": len(ran),
        "seconds": last - first,
        "steps_per_s": len(ran) / (last - first) if last > first else float("nan"),
        "latency_p50_ms": percentile(latencies, 0.5) * 1000,
        "latency_p99_ms": percentile(latencies, 0.99) * 1000,
        "latency_max_ms": max(latencies, default=float("nan")) * 1000,
        "run_created_to_finished_s": (run.finished_at or last) - run.created_at,
        "steps_per_worker": sorted(share.values(), reverse=True),
        "reexecuted": sum(1 for a in attempts if a.number > 1),
    }
