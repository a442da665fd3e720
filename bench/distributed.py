"""Distributed benchmark: W1 chain and W2 fan-outs executed by K `runwright worker` processes.

    .venv/bin/python bench/distributed.py                 # N=1,000, workers 1,2,4, SQLite + PG
    .venv/bin/python bench/distributed.py --quick         # N=200, workers 1,2
    .venv/bin/python bench/distributed.py --db-url postgresql://127.0.0.1:5432/test \\
        --workers 1,2,4 --n 1000 --dbs sqlite,postgresql --profile /tmp/prof

For every database (a SQLite WAL file in a temp dir; PostgreSQL in a fresh schema this
script creates and drops) x worker count K x workload, it starts K workers
(``--no-scheduler --concurrency 4``), waits until all are registered active, enqueues the
run with ``runwright run --detach``, waits for it to finish and reads from the database:
steps/s = executed steps / (last finished_at - first started_at), and the p50/p99 of
``store.latencies(run_id)`` (ready or due -> started). "W2 fan-out" is a for_each of N
items; "steps fan-out" is N independent steps and a join that needs them all. The "idle"
probe enqueues single-step runs one at a time onto K idle workers: that is the wake-up
latency LISTEN/NOTIFY serves.
The "claim under load" probe does the same onto one more worker while K workers run a
fan-out of 6·N items labelled ``load`` (which only they carry, so the probe worker stays
free): ready -> started there is the wake-up and claim of a free worker on a busy database.

Results print as a table and are written to bench/results/distributed.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from dist_cluster import (
    FINISHED,
    WorkerPool,
    clean_env,
    cpu_seconds,
    enqueue,
    fanout_yaml,
    measure,
    percentile,
    postgres_pids,
    postgres_schema,
    postgres_version,
    wait_finished,
)
from workloads import chain_yaml
from workloads import fanout_yaml as steps_fanout_yaml

from runwright.store import Store, open_store

HERE = Path(__file__).resolve().parent
#: How often an idle worker polls a database that cannot notify (runwright's default).
POLL_INTERVAL = 0.25
DEFAULT_PG = "postgresql://127.0.0.1:5432/test"
#: The label of the load in the claim-under-load probe: the probe's worker lacks it.
LOAD_LABEL = "load"
WORKLOADS = ("W1 chain", "W2 fan-out", "steps fan-out", "idle", "claim under load")


def prepare(work: Path, n: int) -> dict[str, Path]:
    """Write the step module and the pipelines into the directory workers run in."""
    (work / "bench_steps.py").write_text((HERE / "bench_steps.py").read_text())
    files = {
        "W1 chain": chain_yaml(n),
        "W2 fan-out": fanout_yaml(n),
        "steps fan-out": steps_fanout_yaml(n),
        "idle": chain_yaml(1),
        "loaded": fanout_yaml(6 * n, label=LOAD_LABEL),
    }
    paths: dict[str, Path] = {}
    for name, text in files.items():
        path = work / f"{name.split()[0].lower()}.yaml"
        path.write_text(text)
        paths[name] = path
    return paths


async def workload(
    store: Store, pool: WorkerPool, url: str, work: Path, pipeline: Path, k: int, tag: str
) -> dict[str, Any]:
    startup = await pool.start(k, store, tag)
    server = postgres_pids() if url.startswith("postgresql://") else []
    try:
        cpu0, pg0, t0 = pool.cpu(), cpu_seconds(server), time.perf_counter()
        run_id = enqueue(url, pipeline, work)
        run = await wait_finished(store, run_id)
        cpu1, pg1, wall = pool.cpu(), cpu_seconds(server), time.perf_counter() - t0
    finally:
        pool.stop()
    result = await measure(store, run)
    return {
        **result,
        "wall_s_incl_enqueue": wall,
        "workers_start_s": startup,
        # CPU while the run was enqueued and executed, per executed step.
        "worker_cpu_ms_per_step": (cpu1 - cpu0) / result["steps"] * 1000,
        "postgres_cpu_ms_per_step": (pg1 - pg0) / result["steps"] * 1000 if server else None,
    }


async def probe_runs(
    store: Store, url: str, work: Path, pipeline: Path, *, runs: int, until: str | None = None
) -> list[float]:
    """Ready -> started of one-step runs enqueued one at a time, each once the previous one
    finished: ``runs`` of them, or (with ``until``) as many as fit before that run ends."""
    from runwright.api import Session
    from runwright.settings import Settings

    latencies: list[float] = []
    settings = Settings.from_env(clean_env(), cwd=work, db=url)
    async with Session(settings) as session:
        while len(latencies) < runs:
            if until is not None and str((await store.get_run(until)).status) in FINISHED:
                break
            # A random pause spanning one poll period: on SQLite the enqueue then lands
            # at a uniformly random phase of each worker's poll timer.
            await asyncio.sleep(0.05 + random.uniform(0.0, POLL_INTERVAL))
            result = await session.start_run(pipeline, detach=True)
            run = await wait_finished(store, result.run_id, every=0.01)
            if str(run.status) != "succeeded":
                raise RuntimeError(f"probe run {run.id} {run.status}: {run.error}")
            latencies.extend(await store.latencies(run.id))
    return latencies


def latency_row(latencies: list[float]) -> dict[str, Any]:
    return {
        "status": "succeeded",
        "steps": len(latencies),
        "latency_p50_ms": percentile(latencies, 0.5) * 1000,
        "latency_p99_ms": percentile(latencies, 0.99) * 1000,
        "latency_max_ms": max(latencies) * 1000,
        "latencies_ms": [round(x * 1000, 2) for x in latencies],
    }


async def idle_probe(
    store: Store, pool: WorkerPool, url: str, work: Path, pipeline: Path, k: int, runs: int
) -> dict[str, Any]:
    """Enqueue ``runs`` one-step runs one at a time onto ``k`` idle workers."""
    await pool.start(k, store, f"idle-k{k}")
    try:
        return latency_row(await probe_runs(store, url, work, pipeline, runs=runs))
    finally:
        pool.stop()


async def loaded_probe(
    store: Store, url: str, work: Path, pipelines: dict[str, Path], k: int, profile: Path | None
) -> dict[str, Any]:
    """One-step runs onto a free worker while ``k`` workers run the labelled fan-out."""
    load = WorkerPool(url, work, profile, label=LOAD_LABEL)
    free = WorkerPool(url, work, profile)
    await load.start(k, store, f"load-k{k}")
    try:
        await free.start(1, store, f"probe-k{k}")
        run_id = enqueue(url, pipelines["loaded"], work)
        latencies = await probe_runs(store, url, work, pipelines["idle"], runs=10_000, until=run_id)
        run = await wait_finished(store, run_id)
    finally:
        load.stop()
        free.stop()
    fanout = await measure(store, run)
    if not latencies:
        raise RuntimeError(f"the load run {run_id} ended before one probe ran; raise --n")
    return {**latency_row(latencies), "load_steps_per_s": fanout["steps_per_s"]}


async def one_database(db: str, url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rwbench-") as tmp:
        work = Path(tmp)
        pipelines = prepare(work, args.n)
        pool = WorkerPool(url, work, args.profile)
        store = open_store(url)
        try:
            for k in args.workers:
                for name in args.workloads:
                    tag = f"{db}-k{k}-{name.split()[0]}"
                    print(f"  {db:10} K={k} {name} ...", flush=True)
                    if name == "claim under load":
                        result = await loaded_probe(store, url, work, pipelines, k, args.profile)
                    elif name == "idle":
                        result = await idle_probe(
                            store, pool, url, work, pipelines[name], k, args.idle_runs
                        )
                    else:
                        result = await workload(store, pool, url, work, pipelines[name], k, tag)
                    rows.append({"db": db, "workers": k, "workload": name, **result})
        finally:
            pool.stop()
            await store.close()
    return rows


def cpu(r: dict[str, Any]) -> str:
    """Workers' CPU per step, plus the PostgreSQL server's."""
    pg = r.get("postgres_cpu_ms_per_step")
    return f"{r['worker_cpu_ms_per_step']:.2f}" + ("" if pg is None else f" + {pg:.2f}")


def src_digest() -> str:
    """sha256 of the runwright sources benchmarked (the tree changes between runs)."""
    digest = hashlib.sha256()
    for path in sorted((HERE.parent / "src" / "runwright").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def show(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "db",
        "K",
        "workload",
        "steps",
        "seconds",
        "steps/s",
        "p50 ms",
        "p99 ms",
        "cpu ms/step",
        "split",
    )
    for r in rows:
        idle = r["workload"] in ("idle", "claim under load")
        load = r.get("load_steps_per_s")
        table.add_row(
            r["db"],
            str(r["workers"]),
            ("idle wake-up" if r["workload"] == "idle" else r["workload"])
            + ("" if load is None else f" ({load:,.0f} steps/s)")
            + ("" if r["status"] == "succeeded" else f" ({r['status']}!)"),
            str(r["steps"]),
            "" if idle else f"{r['seconds']:.2f}",
            "" if idle else f"{r['steps_per_s']:,.0f}",
            f"{r['latency_p50_ms']:.1f}",
            f"{r['latency_p99_ms']:.1f}",
            "" if idle else cpu(r),
            "" if idle else "/".join(map(str, r["steps_per_worker"])),
        )
    Console(width=120).print(table)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N=200, workers 1,2")
    parser.add_argument("--db-url", default=os.environ.get("RUNWRIGHT_BENCH_PG", DEFAULT_PG))
    parser.add_argument("--workers", default=None, help="comma-separated K (default 1,2,4)")
    parser.add_argument("--n", type=int, default=None, help="steps per workload (default 1000)")
    parser.add_argument("--dbs", default="sqlite,postgresql", help="which databases to run")
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated, of: {', '.join(WORKLOADS)}",
    )
    parser.add_argument("--idle-runs", type=int, default=20)
    parser.add_argument("--profile", type=Path, default=None, help="cProfile workers into DIR")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "distributed.json")
    args = parser.parse_args()
    args.workers = [int(k) for k in (args.workers or ("1,2" if args.quick else "1,2,4")).split(",")]
    args.workloads = [w.strip() for w in args.workloads.split(",")]
    unknown = sorted(set(args.workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    args.n = args.n or (200 if args.quick else 1000)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        args.profile = args.profile.resolve()
    return args


def main() -> None:
    args = parse_args()
    t0 = time.perf_counter()
    load = os.getloadavg()
    digest = src_digest()
    pg = postgres_version(args.db_url)
    rows: list[dict[str, Any]] = []
    for db in args.dbs.split(","):
        if db == "postgresql" and pg is None:
            print(f"skipping PostgreSQL: {args.db_url.split('?')[0]} is unreachable")
            continue
        if db == "postgresql":
            with postgres_schema(args.db_url) as url:
                rows += asyncio.run(one_database(db, url, args))
        else:
            with tempfile.TemporaryDirectory(prefix="rwbench-db-") as tmp:
                rows += asyncio.run(one_database(db, str(Path(tmp) / "bench.db"), args))
    elapsed = time.perf_counter() - t0
    show(rows)
    if src_digest() != digest:
        print("warning: src/runwright changed while the benchmark ran; numbers mix versions")
    print(f"total {elapsed:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgresql": pg,
            "loadavg_at_start": load,
            "loadavg_at_end": os.getloadavg(),
        },
        "src_sha256_12": digest,
        "src_changed_during_run": src_digest() != digest,
        "n": args.n,
        "worker_concurrency": 4,
        "total_seconds": elapsed,
        "results": rows,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
