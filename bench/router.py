"""Router benchmarks against the loopback LLM server (in a child process).

    .venv/bin/python bench/router.py           # N=400 calls per case, 200 concurrent steps
    .venv/bin/python bench/router.py --quick   # N=100

Cases (p50/p99 per call, milliseconds):
  direct      provider.complete() straight to the server: the floor
  routed      router.complete() on a SQLite store: breaker read, guard, events
  routed_mem  router.complete() with no store (breakers and windows in process)
  fallback    candidate 1's breaker is open (in the store): skipped, candidate 2 answers
  engine_miss one-step `llm` pipeline run through the engine, a new prompt each run
  engine_hit  the same pipeline and prompt again: served from the cache, no request
  fanout      200 `llm` steps (for_each) at concurrency 200 against the server
``router_own`` is each routed call minus the network call inside it (timed by a
CallGuard): the router's own cost, which the loopback round trip's noise would hide.
Results print and land in bench/results/router.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from runwright.config import parse_config  # noqa: E402
from runwright.providers.base import CompletionRequest, Message  # noqa: E402
from runwright.providers.factory import build_provider  # noqa: E402
from runwright.providers.router import Router  # noqa: E402
from runwright.store import open_store  # noqa: E402
from runwright.store.records import BreakerRecord  # noqa: E402

SERVER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from llmserver import LLMServer
with LLMServer() as s:
    print(s.url, flush=True)
    sys.stdin.read()
"""

REQUEST = CompletionRequest(model="m", messages=(Message("user", "hi"),))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 3),
        "p99_ms": round(pct(values, 0.99), 3),
        "n": len(values),
    }


def toml(url: str, *, extra: str = "") -> str:
    return textwrap.dedent(
        f"""
        [providers.live]
        type = "openai"
        base_url = "{url}/v1"

        [providers.dead]
        type = "openai"
        base_url = "http://127.0.0.1:9/v1"

        [models.plain]
        candidates = ["live:m"]

        [models.fallback]
        candidates = ["dead:m", "live:m"]
        {extra}
        """
    )


async def timed(n: int, call: Any) -> list[float]:
    for _ in range(10):  # warm up connections
        await call()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await call()
        out.append(time.perf_counter() - t)
    return out


class Inner:
    """A CallGuard timing the network call inside the router: the rest is the router's."""

    def __init__(self) -> None:
        self.last = 0.0

    async def __call__(self, candidate: Any, request: Any, call: Any) -> Any:
        t = time.perf_counter()
        try:
            return await call()
        finally:
            self.last = time.perf_counter() - t


async def overhead(n: int, router: Router, ref: str) -> tuple[list[float], list[float]]:
    """Whole call times, and the router's own part of each (whole minus the network call)."""
    inner = Inner()
    whole, own = [], []
    for i in range(n + 10):
        t = time.perf_counter()
        await router.complete(ref, REQUEST, guard=inner)
        spent = time.perf_counter() - t
        if i >= 10:
            whole.append(spent)
            own.append(spent - inner.last)
    return whole, own


async def calls(url: str, tmp: Path, n: int) -> dict[str, Any]:
    loaded = parse_config(toml(url), path=tmp / "runwright.toml")
    provider = build_provider("live", loaded.config.providers["live"], env={})
    direct = await timed(n, lambda: provider.complete(REQUEST))
    await provider.aclose()
    store = open_store(str(tmp / "bench.db"))
    routed_router = Router(loaded.config, env={}, store=store, emit=lambda *a: None)
    routed, routed_own = await overhead(n, routed_router, "plain")
    mem_router = Router(loaded.config, env={}, store=None, emit=lambda *a: None)
    memory, memory_own = await overhead(n, mem_router, "plain")
    dead = routed_router.candidates("fallback")[0]
    async with store.transaction() as tx:
        await tx.put_breaker(
            BreakerRecord(dead.endpoint, "open", 5, time.time() + 3600, None, "down", time.time())
        )
    fallback, fallback_own = await overhead(n, routed_router, "fallback")
    for r in (routed_router, mem_router):
        await r.aclose()
    await store.close()
    out = {
        "direct": summary(direct),
        "routed": summary(routed),
        "routed_mem": summary(memory),
        "fallback": summary(fallback),
    }
    for k, own in (("routed", routed_own), ("routed_mem", memory_own), ("fallback", fallback_own)):
        out[k]["router_own_p50_ms"] = round(statistics.median(own) * 1000, 3)
        out[k]["router_own_p99_ms"] = round(pct(own, 0.99), 3)
    out["fallback"]["added_by_open_breaker_p50_ms"] = round(
        out["fallback"]["router_own_p50_ms"] - out["routed"]["router_own_p50_ms"], 3
    )
    return out


async def engine(url: str, tmp: Path, n: int) -> dict[str, Any]:
    from runwright.api import Session
    from runwright.settings import Settings

    (tmp / "runwright.toml").write_text(toml(url))
    (tmp / "one.yaml").write_text(
        "name: one\ninputs: {p: {type: string}}\nsteps:\n"
        "  - {id: ask, uses: llm, with: {model: plain, prompt: '{{ inputs.p }}'}}\n"
    )
    (tmp / "fan.yaml").write_text(
        "name: fan\ninputs: {n: {type: integer}}\nsteps:\n"
        "  - id: ask\n    uses: llm\n    for_each: '{{ range(inputs.n) | list }}'\n"
        "    cache: false\n    with: {model: plain, prompt: 'item {{ item }}'}\n"
    )
    settings = Settings.from_env({}, cwd=tmp, db=str(tmp / "engine.db"))
    miss, hit = [], []
    async with Session(settings) as s:
        for i in range(n // 4):
            t = time.perf_counter()
            await s.start_run(tmp / "one.yaml", inputs={"p": f"prompt {i}"})
            miss.append(time.perf_counter() - t)
        for _ in range(n // 4):
            t = time.perf_counter()
            await s.start_run(tmp / "one.yaml", inputs={"p": "prompt 0"})
            hit.append(time.perf_counter() - t)
        step_times = await _step_times(s)
        t = time.perf_counter()
        result = await s.start_run(tmp / "fan.yaml", inputs={"n": 200}, concurrency=200)
        fan = time.perf_counter() - t
        assert str(result.status) == "succeeded", result.error
    return {
        "engine_miss": {**summary(miss), **step_times["miss"]},
        "engine_hit": {**summary(hit), **step_times["hit"]},
        "fanout": {
            "steps": 200,
            "concurrency": 200,
            "wall_s": round(fan, 3),
            "steps_per_s": round(200 / fan, 1),
        },
    }


async def _step_times(s: Any) -> dict[str, dict[str, float]]:
    """Per-step engine time from the committed events: step.started→succeeded, or the hit."""
    miss, hit = [], []
    for run in await s.store.list_runs(limit=10_000):
        events = await s.store.events(run.id, limit=100)
        by = {str(e.type): e.ts for e in events}
        if "cache.hit" in by:
            hit.append(by["run.succeeded"] - by["run.started"])
        elif "step.started" in by and "step.succeeded" in by:
            miss.append(by["step.succeeded"] - by["step.started"])
    return {
        "miss": {"step_p50_ms": round(statistics.median(miss) * 1000, 3)} if miss else {},
        "hit": {"run_started_to_succeeded_p50_ms": round(statistics.median(hit) * 1000, 3)}
        if hit
        else {},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=None)
    args = parser.parse_args()
    n = args.n or (100 if args.quick else 400)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ROOT / "tests")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as d:
            results = asyncio.run(calls(url, Path(d), n))
        with tempfile.TemporaryDirectory() as d:
            results.update(asyncio.run(engine(url, Path(d), n)))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(10)
    for name, row in results.items():
        print(f"{name:<12} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "router.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
