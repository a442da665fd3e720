"""Two `runwright worker` processes on one PostgreSQL database never overspend a budget."""

from __future__ import annotations

import asyncio
from pathlib import Path

from workertools import Workers, enqueue, run_status

from clitools import wait_until
from llmserver import LLMServer, Reply
from runwright.store import open_store
from runwright.store.records_costs import CostRecord, ReservationRecord


async def _ledger(db: str, run_id: str) -> tuple[list[CostRecord], list[ReservationRecord]]:
    store = open_store(db)
    try:
        return await store.costs(run_id=run_id), await store.reservations(run_id=run_id)
    finally:
        await store.close()


def test_eight_calls_on_two_workers_under_a_budget_that_fits_three(
    tmp_path: Path, pg_workers: Workers
) -> None:
    with LLMServer() as server:
        # Worst case per call: 10 output tokens at $1,000/M = $0.01; $0.035 fits three.
        server.script(*[Reply(delay=0.5, usage={"input": 5, "output": 7}) for _ in range(8)])
        (tmp_path / "runwright.toml").write_text(
            f'[providers.loop]\ntype = "openai"\nbase_url = "{server.openai_url}"\n'
            'timeout = 30\n[prices."loop:m"]\ninput_per_mtok = 0\noutput_per_mtok = 1000\n'
        )
        steps = "\n".join(
            f'  - {{id: s{i}, uses: llm, with: {{model: "loop:m", prompt: "p{i}", '
            "max_tokens: 10}}"
            for i in range(8)
        )
        path = tmp_path / "p.yaml"
        path.write_text(f"name: many\nbudget: {{usd: 0.035}}\nsteps:\n{steps}\n")
        pg_workers.start_many(2, "--concurrency", "4")
        run_id = enqueue(tmp_path, pg_workers.db, path)
        done = wait_until(
            lambda: asyncio.run(run_status(pg_workers.db, run_id)) in ("succeeded", "failed"), 60
        )
        assert done, pg_workers.log(pg_workers.procs[0])
        # The run is failed at the first refusal; calls already in flight finish after.
        settled = wait_until(
            lambda: all(r.state != "held" for r in asyncio.run(_ledger(pg_workers.db, run_id))[1]),
            60,
        )
        assert settled
        costs, reservations = asyncio.run(_ledger(pg_workers.db, run_id))
        assert asyncio.run(run_status(pg_workers.db, run_id)) == "failed"
        assert sum(c.usd or 0 for c in costs) <= 0.035
        assert 1 <= len(costs) < 8 and len(server.requests) == len(costs)
        assert not [r for r in reservations if r.state == "held"]
        assert "denied" in {r.state for r in reservations}
