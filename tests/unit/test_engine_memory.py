"""Planner, readiness and state machine on the in-memory store (fast, no files)."""

from __future__ import annotations

import time

import pytest

from runwright.engine.lifecycle import initial_attempts
from runwright.engine.plan import build_plan, topological_order
from runwright.errors import IllegalTransition
from runwright.registry import default_registry
from runwright.spec.loader import parse_spec
from runwright.states import AttemptState, RunStatus
from runwright.store.records import RunRecord
from runwright.testing import memory_store

A = AttemptState
DIAMOND = """
name: diamond
steps:
  - {id: top, uses: shell, with: {run: "true"}}
  - {id: left, uses: shell, needs: [top], with: {run: "true"}}
  - {id: right, uses: shell, needs: [top], with: {run: "true"}}
  - {id: join, uses: shell, needs: [left, right], if: "true", with: {run: "true"}}
"""


def plan_of(text: str):  # type: ignore[no-untyped-def]
    loaded = parse_spec(text, kinds=default_registry().kinds())
    return build_plan(loaded.pipeline, default_registry())


def test_topological_order_is_stable_and_respects_needs() -> None:
    plan = plan_of(DIAMOND)
    assert topological_order(plan.pipeline) == ("top", "left", "right", "join")
    assert plan.steps["top"].dependents == ("left", "right")
    # left and right release only a join (a row they share): their commits claim first.
    assert {s.id: s.joins_only for s in plan.steps.values()} == {
        "top": False,
        "left": True,
        "right": True,
        "join": False,
    }
    # `join` has an `if`, so it is leased (decided by a worker), not started on claim.
    assert plan.direct_start == frozenset({"top", "left", "right"})


async def _new_run(store, plan):  # type: ignore[no-untyped-def]
    now = time.time()
    run = RunRecord("r1", "diamond", "h", "src", None, {}, RunStatus.RUNNING, now, now)
    async with store.transaction() as tx:
        await tx.insert_run(run)
        await tx.insert_attempts(initial_attempts("r1", plan, plan.order))
    return run


async def _claim(store, plan, worker="w1", limit=10):  # type: ignore[no-untyped-def]
    async with store.transaction() as tx:
        return await tx.claim(
            worker_id=worker,
            limit=limit,
            now=time.time(),
            lease_until=time.time() + 30,
            run_id="r1",
            start=plan.direct_start,
        )


async def _succeed(store, plan, a, worker="w1"):  # type: ignore[no-untyped-def]
    async with store.transaction() as tx:
        await tx.transition(a.id, a.state, A.SUCCEEDED, worker_id=worker)
        await tx.release("r1", plan.steps[a.step_id].dependents)


async def test_join_becomes_ready_only_after_both_needs() -> None:
    store = memory_store()
    plan = plan_of(DIAMOND)
    await _new_run(store, plan)
    [top] = await _claim(store, plan)
    assert (top.step_id, top.state) == ("top", A.RUNNING)
    await _succeed(store, plan, top)
    left, right = await _claim(store, plan)
    assert {left.step_id, right.step_id} == {"left", "right"}
    await _succeed(store, plan, left)
    assert await _claim(store, plan) == []  # join still waits for `right`
    await _succeed(store, plan, right)
    [join] = await _claim(store, plan)
    assert (join.step_id, join.state) == ("join", A.LEASED)


async def test_claims_are_exclusive_and_only_for_running_runs() -> None:
    store = memory_store()
    plan = plan_of(DIAMOND)
    await _new_run(store, plan)
    assert len(await _claim(store, plan, "w1")) == 1
    assert await _claim(store, plan, "w2") == []
    async with store.transaction() as tx:
        await tx.set_run_status("r1", RunStatus.CANCELLED)
    await _succeed(store, plan, (await store.attempts("r1"))[0])
    assert await _claim(store, plan) == []  # ready, but the run is not running


async def test_a_fenced_out_worker_cannot_commit() -> None:
    store = memory_store()
    plan = plan_of(DIAMOND)
    await _new_run(store, plan)
    [top] = await _claim(store, plan, "w1")
    with pytest.raises(IllegalTransition, match="not held by w2"):
        async with store.transaction() as tx:
            await tx.transition(top.id, A.RUNNING, A.SUCCEEDED, worker_id="w2")
    # The failed transaction left nothing behind.
    assert (await store.attempts("r1"))[0].state is A.RUNNING


async def test_illegal_transition_is_refused_by_the_store() -> None:
    store = memory_store()
    plan = plan_of(DIAMOND)
    await _new_run(store, plan)
    first = (await store.attempts("r1"))[0]
    with pytest.raises(IllegalTransition):
        async with store.transaction() as tx:
            await tx.transition(first.id, A.READY, A.SUCCEEDED)


async def test_skip_pending_only_touches_pending_current_attempts() -> None:
    store = memory_store()
    plan = plan_of(DIAMOND)
    await _new_run(store, plan)
    async with store.transaction() as tx:
        skipped = await tx.skip_pending("r1", ["top", "left", "join"], "because")
    assert sorted(skipped) == ["join", "left"]  # `top` is ready, not pending
