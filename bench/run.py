"""runwright benchmarks: W0 start-up, W1 chain, W2 fan-out, W3 kill and resume, W4 for_each.

    .venv/bin/python bench/run.py            # full set (N up to 30,000)
    .venv/bin/python bench/run.py --quick    # smaller N, for a smoke check

Each workload runs in its own process; results print as a table and are saved
to bench/results/latest.json. Numbers are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from workloads import chain_yaml

HERE = Path(__file__).resolve().parent
PY = sys.executable
RUNWRIGHT = [PY, "-m", "runwright"]


#: Every process runs as a user's second run does: with its bytecode cached. A machine
#: with PYTHONDONTWRITEBYTECODE set (this one has) would otherwise compile every module
#: of an editable install from source on every start: ~100 ms and a few MB of peak RSS.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def workload(name: str, steps: int, durability: str = "normal") -> dict[str, float]:
    out = subprocess.run(
        [PY, str(HERE / "workloads.py"), name, "--steps", str(steps), "--durability", durability],
        check=True,
        capture_output=True,
        text=True,
        env=ENV,
    ).stdout
    return json.loads(out)


def timed(cmd: list[str], cwd: Path, repeat: int = 10) -> float:
    """Median wall time of ``cmd``, after one run that caches its bytecode."""
    subprocess.run(cmd, cwd=cwd, check=False, capture_output=True, env=ENV)  # warm-up
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=False, capture_output=True, env=ENV)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def w0(work: Path) -> dict[str, float]:
    (work / "empty.yaml").write_text(
        "name: empty\nsteps:\n  - id: only\n    uses: shell\n    with: {run: 'true'}\n"
    )
    return {
        "version_ms": timed([str(Path(PY).parent / "runwright"), "--version"], work) * 1000,
        "help_ms": timed([str(Path(PY).parent / "runwright"), "--help"], work) * 1000,
        "empty_run_ms": timed(
            [str(Path(PY).parent / "runwright"), "run", "empty.yaml"], work, repeat=5
        )
        * 1000,
    }


def show(work: Path, run_id: str) -> dict[str, Any]:
    out = subprocess.run(
        [*RUNWRIGHT, "show", run_id, "--json"], cwd=work, check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def w3(work: Path, n: int = 200, kill_at: int = 100) -> dict[str, float]:
    marker = work / "stalled"
    (work / "bench_steps.py").write_text((HERE / "bench_steps.py").read_text())
    (work / "pipeline.yaml").write_text(
        chain_yaml(n, "bench_steps:stall_at", f", stall: {kill_at}, marker: '{marker}'")
    )
    proc = subprocess.Popen(
        [*RUNWRIGHT, "run", "pipeline.yaml"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("W3: the run never reached the stall step")
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    run_id = json.loads(
        subprocess.run(
            [*RUNWRIGHT, "runs", "--json"], cwd=work, check=True, capture_output=True, text=True
        ).stdout
    )[0]["run_id"]
    before = show(work, run_id)
    committed = sum(1 for s in before["steps"] if s["state"] == "succeeded")
    env = {**os.environ, "RUNWRIGHT_BENCH_RESUMING": "1"}
    t0 = time.perf_counter()
    done = subprocess.run(
        [*RUNWRIGHT, "resume", run_id, "--json"], cwd=work, env=env, capture_output=True, text=True
    )
    resume_s = time.perf_counter() - t0
    status = json.loads(done.stdout)["status"]
    shown = show(work, run_id)
    rerun = [a for a in shown["attempts"] if a["attempt"] > 1]
    return {
        "status": status,
        "resume_seconds": resume_s,
        "reexecuted_steps": len(rerun),
        "committed_before_kill": committed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [200, 1000] if args.quick else [200, 1000, 10_000, 30_000]
    results: dict[str, object] = {}
    chain_s: dict[int, float] = {}  # W1 normal: engine seconds by N
    with tempfile.TemporaryDirectory() as tmp:
        results["W0"] = w0(Path(tmp))
    for durability in ("normal", "strict"):
        for n in sizes if durability == "normal" else sizes[:2]:
            w1 = workload("w1", n, durability)
            raw = workload("raw", n, durability)
            per_step = w1["seconds"] / n * 1000
            exec_per_step = w1["exec_seconds"] / n * 1000
            raw_per = raw["seconds"] / n * 1000
            if durability == "normal":
                chain_s[n] = w1["exec_seconds"]
            results[f"W1 n={n} {durability}"] = {
                # Engine time: the committed run.started to the committed run.succeeded.
                "exec_ms_per_step": round(exec_per_step, 4),
                "ms_per_step_incl_spec_load": round(per_step, 4),
                "steps_per_s": round(n / w1["exec_seconds"]),
                "raw_sqlite_ms_per_row": round(raw_per, 4),
                "ratio_to_raw": round(exec_per_step / raw_per, 1),
                "peak_rss_mb": round(w1["peak_rss_mb"], 1),
            }
    # A chain's time per step must not grow with its length (its spec is 3 MB at 30,000).
    small, big = sorted(chain_s)[-2:]
    results["W1 slope"] = {
        "ms_per_step": round((chain_s[big] - chain_s[small]) / (big - small) * 1000, 4),
        "between": [small, big],
    }
    w2 = workload("w2", 200)
    results["W2 fan-out 200+join"] = {
        "exec_seconds": round(w2["exec_seconds"], 4),
        "total_seconds": round(w2["seconds"], 4),
        "peak_rss_mb": round(w2["peak_rss_mb"], 1),
    }
    with tempfile.TemporaryDirectory() as tmp:
        results["W3 chain 200 killed at 100"] = w3(Path(tmp))
    # W4: time and memory of a for_each as N grows (flat memory, time linear in N).
    exec_s: dict[int, float] = {}
    for n in [1000, 10_000] if args.quick else [1000, 10_000, 100_000]:
        each = workload("each", n)
        exec_s[n] = each["exec_seconds"]
        results[f"W4 for_each n={n}"] = {
            "exec_seconds": round(each["exec_seconds"], 3),
            "ms_per_item": round(each["exec_seconds"] / n * 1000, 4),
            "peak_rss_mb": round(each["peak_rss_mb"], 1),
        }
    small, big = sorted(exec_s)[-2:]
    results["W4 slope"] = {
        "ms_per_item": round((exec_s[big] - exec_s[small]) / (big - small) * 1000, 4),
        "between": [small, big],
    }
    for name, value in results.items():
        print(f"{name:32} {json.dumps(value)}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
