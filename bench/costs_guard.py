"""Overhead of the cost guard per call: price, reserve (budgets checked), settle.

    .venv/bin/python bench/costs_guard.py [--db URL] [-n 500]

The call itself is a no-op returning a canned reply, so what is timed is the two
store transactions and the pricing around it (p50/p99, with and without budgets).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from runwright.config.models import ProjectConfig, with_builtin_providers
from runwright.costs.guard import BudgetGuard, SpendIdentity, Target
from runwright.costs.policy import SpendPolicy
from runwright.providers.base import CompletionRequest, CompletionResponse, Message, Usage
from runwright.store import open_store

REPLY = CompletionResponse("ok", Usage(100, 20), "stop", "m", 0.0)
REQUEST = CompletionRequest("m", (Message("user", "hello " * 50),), max_tokens=200)


async def measure(url: str, n: int, budgets: bool) -> tuple[float, float]:
    raw: dict[str, object] = {
        "providers": {"loop": {"type": "openai", "base_url": "http://127.0.0.1:1/v1"}},
        "prices": {"loop:m": {"input_per_mtok": 1, "output_per_mtok": 2}},
    }
    if budgets:
        raw["budgets"] = {
            "daily_usd": 1e6,
            "total_usd": 1e6,
            "pipelines": {"p": {"daily_usd": 1e6}},
        }
    policy = SpendPolicy.build(
        config=ProjectConfig.model_validate(with_builtin_providers(raw)),
        pipeline="p",
        run_usd=1e6 if budgets else None,
    )
    store = open_store(url)

    async def call() -> CompletionResponse:
        return REPLY

    times = []
    try:
        for i in range(n):
            guard = BudgetGuard(
                store=store, identity=SpendIdentity(f"r{budgets}", "s", -1, 1, i), policy=policy
            )
            start = time.perf_counter()
            await guard(Target("loop", "m"), REQUEST, call)
            times.append(time.perf_counter() - start)
    finally:
        await store.close()
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.99)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=None)
    parser.add_argument("-n", type=int, default=500)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    for budgets in (False, True):
        p50, p99 = asyncio.run(measure(url, args.n, budgets))
        label = "5 budgets" if budgets else "no budget"
        print(f"{url.split(':')[0]:10} {label:10} p50 {p50:.3f} ms  p99 {p99:.3f} ms")


if __name__ == "__main__":
    main()
