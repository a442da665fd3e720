"""The Store protocol on both databases: budget reservations and the cost ledger (0005)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from storetools import A, claim, raw, seed

from runwright.store import open_store
from runwright.store.records import NO_ITEM
from runwright.store.records_costs import BudgetLimit, CostEntry, Hold
from runwright.store.sql_store import SqlStore

RUN = BudgetLimit("run", 1.0, "the run's budget")
DAY = "2026-12-02"


def hold(usd: float, *, run_id: str = "r1", attempt_id: int | None = None, **kw: str) -> Hold:
    return Hold(
        id=uuid.uuid4().hex,
        run_id=run_id,
        pipeline=kw.get("pipeline", "pipe"),
        day=kw.get("day", DAY),
        attempt_id=attempt_id,
        step_id="a",
        item=NO_ITEM,
        provider="loop",
        model="m",
        usd=usd,
        ts=time.time(),
    )


async def reserve(store: SqlStore, h: Hold, *limits: BudgetLimit) -> object:
    async with store.transaction() as tx:
        return await tx.reserve(h, limits)


async def test_a_hold_that_does_not_fit_is_refused_and_stops_the_run_until_cleared(
    store: SqlStore,
) -> None:
    assert await reserve(store, hold(0.6), RUN) is None
    refusal = await reserve(store, hold(0.5), RUN)
    assert refusal is not None and refusal.limit == RUN  # type: ignore[attr-defined]
    assert refusal.spent == pytest.approx(0.6)  # type: ignore[attr-defined]
    # Stopped: even a call that would fit is refused now, naming the first refusal.
    small = await reserve(store, hold(0.01), RUN)
    assert small is not None and "$0.6" in (small.stopped or "")  # type: ignore[attr-defined]
    states = [r.state for r in await store.reservations(run_id="r1")]
    assert states == ["held", "denied"]
    async with store.transaction() as tx:
        assert await tx.clear_budget_stop("r1") == 1
    assert await reserve(store, hold(0.4), RUN) is None  # exactly fits: 0.6 + 0.4 = 1.0
    assert await reserve(store, hold(0.01), RUN) is not None


async def test_settle_charges_the_actual_cost_and_release_gives_it_back(store: SqlStore) -> None:
    first, second = hold(0.9), hold(0.9, run_id="r2")
    assert await reserve(store, first, RUN) is None
    async with store.transaction() as tx:
        await tx.settle(first, CostEntry(100, 20, 5, 0.25, 1))
    assert await reserve(store, second, RUN) is None  # another run's budget is its own
    async with store.transaction() as tx:
        await tx.release_hold(second.id, "the call failed")
    rows = {r.id: r for r in await store.reservations()}
    assert (rows[first.id].state, rows[first.id].usd) == ("settled", 0.25)
    assert (rows[second.id].state, rows[second.id].usd) == ("released", 0.0)
    [cost] = await store.costs(run_id="r1")
    assert (cost.input_tokens, cost.output_tokens, cost.cached_tokens) == (100, 20, 5)
    assert (cost.usd, cost.provider, cost.model, cost.day) == (0.25, "loop", "m", DAY)
    assert await store.costs(run_id="r2") == []
    # 0.25 settled: 0.75 left.
    assert await reserve(store, hold(0.75), RUN) is None


async def test_an_unknown_cost_is_stored_as_null(store: SqlStore) -> None:
    h = hold(0.0)
    assert await reserve(store, h) is None
    async with store.transaction() as tx:
        await tx.settle(h, CostEntry(1, 2, 0, None, 1))
    [cost] = await store.costs()
    assert cost.usd is None and cost.to_json()["cost_usd"] is None


async def test_scopes_sum_across_runs_by_pipeline_and_day(store: SqlStore) -> None:
    pipe_day = BudgetLimit("pipeline_day", 1.0, "pipeline daily")
    total = BudgetLimit("total", 2.0, "total")
    assert await reserve(store, hold(0.8, run_id="r1"), pipe_day, total) is None
    # Same pipeline and day, another run: the pipeline's day counts both.
    assert await reserve(store, hold(0.3, run_id="r2"), pipe_day, total) is not None
    # Another day fits the daily budget, but not the total (0.8 + 1.0 + 0.3 > 2).
    assert await reserve(store, hold(1.0, run_id="r3", day="2026-12-03"), pipe_day, total) is None
    other = await reserve(store, hold(0.3, run_id="r4", pipeline="other"), total)
    assert other is not None and other.limit == total  # type: ignore[attr-defined]


async def test_abandoned_attempts_have_their_holds_charged_never_leaked(store: SqlStore) -> None:
    await seed(store, steps=("a", "b"))
    got = {x.step_id: x for x in await claim(store, "w1")}
    first, second = hold(0.3, attempt_id=got["a"].id), hold(0.2, attempt_id=got["b"].id)
    assert await reserve(store, first, RUN) is None
    assert await reserve(store, second, RUN) is None
    async with store.transaction() as tx:
        await tx.transition(got["a"].id, A.LEASED, A.ABANDONED, reason="process died")
        # Lease expiry abandons too.
        assert [x.id for x in await tx.reap_expired(time.time() + 3600)] == [got["b"].id]
    rows = {r.id: r for r in await store.reservations()}
    assert [rows[first.id].state, rows[second.id].state] == ["lost", "lost"]
    assert rows[first.id].usd == pytest.approx(0.3)  # charged at the worst case
    refusal = await reserve(store, hold(0.6), RUN)
    assert refusal is not None and refusal.spent == pytest.approx(0.5)  # type: ignore[attr-defined]
    # The reply arrived after all (lease expired, process alive): charged what it cost.
    async with store.transaction() as tx:
        await tx.settle(second, CostEntry(1, 1, 0, 0.01, 1))
    assert {r.id: r for r in await store.reservations()}[second.id].state == "settled"


async def test_concurrent_holds_from_separate_connections_never_pass_the_budget(
    db_url: str, store: SqlStore
) -> None:
    others = [open_store(db_url) for _ in range(3)]
    try:
        results = await asyncio.gather(
            *[
                reserve(s, hold(0.3, run_id=f"r{i}"), BudgetLimit("total", 1.0, "total"))
                for i in range(12)
                for s in [others[i % 3]]
            ]
        )
    finally:
        for s in others:
            await s.close()
    assert sum(1 for r in results if r is None) == 3
    held = [r for r in await store.reservations() if r.state == "held"]
    assert len(held) == 3 and sum(r.usd or 0 for r in held) <= 1.0


async def test_a_budget_set_after_spending_counts_what_was_spent_before(store: SqlStore) -> None:
    # Spent with no budget at all: no scope row yet.
    first, second = hold(0.4), hold(0.3, run_id="r2")
    assert await reserve(store, first) is None
    assert await reserve(store, second) is None
    async with store.transaction() as tx:
        await tx.settle(first, CostEntry(1, 1, 0, 0.25, 1))
        await tx.release_hold(second.id, "the call failed")
    total = BudgetLimit("total", 1.0, "total")
    # The new total budget starts from the ledger: 0.25 spent, so 0.8 does not fit.
    refusal = await reserve(store, hold(0.8, run_id="r3"), total)
    assert refusal is not None and refusal.spent == pytest.approx(0.25)  # type: ignore[attr-defined]
    # ... and is kept up to date by every later change, not summed again.
    third = hold(0.7, run_id="r4")
    assert await reserve(store, third, total) is None
    async with store.transaction() as tx:
        await tx.settle(third, CostEntry(1, 1, 0, 0.05, 1))
    spent = await raw(store, "SELECT usd FROM budget_scopes WHERE scope='total'")
    ledger = sum(r.usd or 0 for r in await store.reservations() if r.state != "denied")
    assert spent[0][0] == pytest.approx(ledger) == pytest.approx(0.30)


async def test_a_budget_added_while_others_reserve_without_it_misses_nothing(
    db_url: str, store: SqlStore
) -> None:
    # Processes with the old configuration (no budget) reserve at the very moment the
    # first ones with a new total budget do: the total row must count them all.
    others = [open_store(db_url) for _ in range(4)]
    total = BudgetLimit("total", 1000.0, "total")
    try:
        for round_ in range(8):
            await raw(store, "DELETE FROM budget_scopes")
            await asyncio.gather(
                *[
                    reserve(s, hold(0.01, run_id=f"r{round_}-{i}"), *([total] if i % 2 else []))
                    for i, s in enumerate(others)
                ]
            )
            rows = await raw(store, "SELECT usd FROM budget_scopes WHERE scope='total'")
            ledger = sum(r.usd or 0 for r in await store.reservations() if r.state == "held")
            assert rows[0][0] == pytest.approx(ledger), f"round {round_}"
    finally:
        for s in others:
            await s.close()
