"""The Store protocol on SQLite and PostgreSQL alike: runs, claims, transitions.

Every test runs once per database (the ``db_url`` fixture); the other shared
suites are test_store_shared_data.py and test_store_shared_workers.py.
"""

from __future__ import annotations

import time

import pytest
from storetools import A, by_id, claim, raw, run_record, seed

from runwright.errors import IllegalTransition, NotFoundError
from runwright.events import Event, EventType
from runwright.states import RunStatus
from runwright.store.records import ItemCounts, NewAttempt
from runwright.store.sql import label_subsets
from runwright.store.sql_store import SqlStore

# -- runs --------------------------------------------------------------------------------


async def test_get_run_by_id_or_unique_prefix(store: SqlStore) -> None:
    async with store.transaction() as tx:
        for run_id in ("rabc00", "rabc001", "rabc002", "rxyz", "r_q%"):
            await tx.insert_run(run_record(run_id))
    got = await store.get_run("rxyz")
    assert (got.id, got.pipeline, got.inputs, got.options) == (
        "rxyz",
        "pipe",
        {"x": 1},
        {"o": True},
    )
    assert got.status is RunStatus.RUNNING and got.spec_path is None
    assert (await store.get_run("rxy")).id == "rxyz"
    assert (await store.get_run("rabc00")).id == "rabc00"  # exact id wins over prefix
    assert (await store.get_run("rabc001")).id == "rabc001"
    assert (await store.get_run("r_q")).id == "r_q%"
    with pytest.raises(NotFoundError, match=r"prefix 'rabc0' is ambiguous; give more"):
        await store.get_run("rabc0")
    # LIKE wildcards in the prefix are literal: 'r_' would match every run otherwise.
    with pytest.raises(NotFoundError, match="no run 'r%'"):
        await store.get_run("r%")
    with pytest.raises(NotFoundError) as info:
        await store.get_run("nope")
    assert str(info.value).startswith("no run 'nope' in ")
    assert store.label in str(info.value) and "`runwright runs` lists the runs" in str(info.value)


async def test_run_id_prefix_is_case_sensitive(store: SqlStore) -> None:
    # Run ids are lowercase; SQLite's LIKE ignores ASCII case, so prefixes compare exactly.
    async with store.transaction() as tx:
        await tx.insert_run(run_record("rlower1"))
    with pytest.raises(NotFoundError):
        await store.get_run("RLOWER")


async def test_list_runs_newest_first_with_status_filter(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1", RunStatus.SUCCEEDED, created=100.0))
        await tx.insert_run(run_record("r3", RunStatus.FAILED, created=300.0))
        await tx.insert_run(run_record("r2a", RunStatus.FAILED, created=200.0))
        await tx.insert_run(run_record("r2b", RunStatus.RUNNING, created=200.0))
    assert [r.id for r in await store.list_runs()] == ["r3", "r2b", "r2a", "r1"]
    assert [r.id for r in await store.list_runs(limit=2)] == ["r3", "r2b"]
    assert [r.id for r in await store.list_runs(status=RunStatus.FAILED)] == ["r3", "r2a"]
    assert await store.list_runs(status=RunStatus.WAITING) == []
    async with store.transaction() as tx:
        await tx.set_run_status("r2b", RunStatus.FAILED, error="boom", finished=True)
        assert await tx.run_status("r2b") is RunStatus.FAILED
        assert await tx.lock_run("r2b") is RunStatus.FAILED
        with pytest.raises(NotFoundError):
            await tx.run_status("missing")
    r2b = await store.get_run("r2b")
    assert r2b.error == "boom" and r2b.finished_at is not None and r2b.started_at is not None


# -- claims ------------------------------------------------------------------------------


async def test_a_large_batch_is_written_whole_and_in_order(store: SqlStore) -> None:
    # More rows than one multi-row INSERT takes on PostgreSQL (1,000), with payloads.
    n = 2_503
    async with store.transaction() as tx:
        await tx.insert_run(run_record("big"))
        await tx.insert_attempts(
            [NewAttempt("big", "each", 1, A.READY, item=i, payload=f'"v{i}"') for i in range(n)]
        )
        await tx.add_events(
            [Event(EventType.STEP_STARTED, "big", "each", item=i) for i in range(n)]
        )
    rows = await raw(
        store, "SELECT item, payload FROM attempts WHERE run_id=? ORDER BY id", ("big",)
    )
    assert rows == [(i, f'"v{i}"') for i in range(n)]
    events = await store.events("big", limit=n + 1)
    assert [e.item for e in events] == list(range(n))


async def test_attempts_and_outputs_read_a_page_at_a_time(store: SqlStore) -> None:
    # A step, a for_each of 9 items (one item retried) and a last step.
    async with store.transaction() as tx:
        await tx.insert_run(run_record("p"))
        await tx.insert_attempts(
            [NewAttempt("p", "list", 1, A.SUCCEEDED), NewAttempt("p", "each", 1, A.RUNNING)]
            + [NewAttempt("p", "each", 1, A.SUCCEEDED, item=i) for i in range(9)]
            + [NewAttempt("p", "each", 2, A.CACHED, item=3), NewAttempt("p", "z", 1, A.PENDING)]
        )
    every = await store.attempts("p")
    async with store.transaction() as tx:
        await tx.supersede([a.id for a in every if a.item == 3 and a.number == 1])
        for a in every:
            if a.state.done_ok:
                await tx.put_output("p", a.step_id, a.item, a.id, f'"{a.step_id}{a.item}"')
    paged = [a async for a in store.iter_attempts("p", page=4)]
    assert [a.id for a in paged] == sorted(a.id for a in every) and len(paged) == 13
    nodes = await store.attempts("p", nodes_only=True)
    assert [a.step_id for a in nodes] == ["list", "each", "z"]
    item3 = await store.attempts("p", step_id="each", item=3)
    assert [(a.number, a.state) for a in item3] == [(1, A.SUCCEEDED), (2, A.CACHED)]
    # Item 3's first attempt was superseded: the current items are 9, one of them cached.
    assert await store.item_counts("p") == {"each": ItemCounts(items=9, done=9, cached=1)}
    refs = await store.output_refs("p")
    first = await store.output_refs("p", limit=4)
    rest = await store.output_refs("p", after=(first[-1].step_id, first[-1].item))
    assert first + rest == refs and len(first) == 4
    assert [(r.step_id, r.item) for r in await store.output_refs("p", nodes_only=True)] == [
        ("list", -1)
    ]


async def test_claim_leases_only_due_ready_attempts_of_running_runs(store: SqlStore) -> None:
    later = time.time() + 3600
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        await tx.insert_run(run_record("rw", RunStatus.WAITING))
        await tx.insert_attempts(
            [
                NewAttempt("r1", "due", 1, A.READY),
                NewAttempt("r1", "later", 1, A.READY, not_before=later),
                NewAttempt("r1", "pending", 1, A.PENDING, waiting_on=1),
                NewAttempt("rw", "paused", 1, A.READY),
            ]
        )
    before = time.time()
    got = await claim(store, "w1", lease_for=30)
    assert [a.step_id for a in got] == ["due"]
    assert got[0].state is A.LEASED and got[0].worker_id == "w1"
    assert got[0].lease_expires is not None and got[0].lease_expires >= before + 30
    stored = await by_id(store, "r1")
    assert stored[got[0].id].state is A.LEASED and stored[got[0].id].worker_id == "w1"
    assert await claim(store, "w2") == []  # nothing left that is due
    async with store.transaction() as tx:
        late = await tx.claim(worker_id="w2", limit=5, now=later, lease_until=later + 1)
    assert [a.step_id for a in late] == ["later"]


async def test_claim_honours_limit_run_and_id_order(store: SqlStore) -> None:
    first = await seed(store, "r1", ["s1", "s2", "s3", "s4"])
    other = await seed(store, "r2", ["t1"])
    got = await claim(store, "w1", limit=2)
    assert [a.id for a in got] == [first[0].id, first[1].id]
    got = await claim(store, "w1", limit=10, run_id="r2")
    assert [a.id for a in got] == [other[0].id]
    assert await claim(store, "w1", limit=0) == []
    assert [a.step_id for a in await claim(store, "w1", limit=10)] == ["s3", "s4"]


async def test_claim_start_moves_listed_steps_straight_to_running(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        await tx.insert_attempts(
            [
                NewAttempt("r1", "a", 1, A.READY),
                NewAttempt("r1", "b", 1, A.READY),
                NewAttempt("r1", "a", 1, A.READY, item=0),
                NewAttempt("r1", "e", 1, A.READY, item=0),
                NewAttempt("r1", "e", 1, A.READY, item=1),
            ]
        )
    now = time.time()
    async with store.transaction() as tx:
        got = await tx.claim(
            worker_id="w1", limit=9, now=now, lease_until=now + 60, start={"a"}, start_items={"e"}
        )
    expected = [
        ("a", -1, A.RUNNING, now),
        ("b", -1, A.LEASED, None),
        ("a", 0, A.LEASED, None),  # `start` is for whole steps, `start_items` for items
        ("e", 0, A.RUNNING, now),
        ("e", 1, A.RUNNING, now),
    ]
    assert [(a.step_id, a.item, a.state, a.started_at) for a in got] == expected
    stored = await store.attempts("r1")
    assert [(a.step_id, a.item, a.state) for a in stored] == [e[:3] for e in expected]
    assert [a.started_at for a in stored] == [
        pytest.approx(e[3]) if e[3] else None for e in expected
    ]


async def test_claim_matches_worker_labels_by_subset(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        await tx.insert_attempts(
            [
                NewAttempt("r1", "plain", 1, A.READY, labels=""),
                NewAttempt("r1", "gpu", 1, A.READY, labels="gpu"),
                NewAttempt("r1", "gpu_linux", 1, A.READY, labels="gpu,linux"),
            ]
        )
    got = await claim(store, "w-gpu", labels=label_subsets(["gpu"]))
    assert sorted(a.step_id for a in got) == ["gpu", "plain"]
    assert await claim(store, "w-linux", labels=label_subsets(["linux"])) == []
    got = await claim(store, "w-both", labels=label_subsets(["linux", "gpu", "arm"]))
    assert [a.step_id for a in got] == ["gpu_linux"]
    await seed(store, "r2", ["x"], labels="arm,gpu")
    assert [a.step_id for a in await claim(store, "w-any", labels=None)] == ["x"]


async def test_claim_with_no_label_sets_claims_nothing(store: SqlStore) -> None:
    await seed(store, "r1", ["a"])
    assert await claim(store, "w", labels=[]) == []
    assert len(await claim(store, "w", labels=None)) == 1


# -- transitions and fencing -------------------------------------------------------------


async def test_transition_is_fenced_by_state_and_worker(store: SqlStore) -> None:
    await seed(store, "r1", ["a"])
    [a] = await claim(store, "w1")
    async with store.transaction() as tx:
        with pytest.raises(IllegalTransition, match="not held by w2"):
            await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id="w2")
        with pytest.raises(IllegalTransition, match="no longer ready"):
            await tx.transition(a.id, A.READY, A.LEASED, worker_id="w1")
        with pytest.raises(IllegalTransition, match="illegal attempt transition"):
            await tx.transition(a.id, A.LEASED, A.SUCCEEDED, worker_id="w1")
    assert (await by_id(store, "r1"))[a.id].state is A.LEASED
    async with store.transaction() as tx:
        await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id="w1")
    running = (await by_id(store, "r1"))[a.id]
    assert running.state is A.RUNNING and running.started_at is not None
    assert running.finished_at is None
    async with store.transaction() as tx:
        await tx.transition(a.id, A.RUNNING, A.FAILED, error="bad", reason="crashed")
    failed = (await by_id(store, "r1"))[a.id]
    assert (failed.state, failed.error, failed.reason) == (A.FAILED, "bad", "crashed")
    assert failed.finished_at is not None and failed.started_at == running.started_at


async def test_refused_transition_rolls_back_the_whole_transaction(store: SqlStore) -> None:
    await seed(store, "r1", ["a", "b"])
    a, b = await claim(store, "w1")
    with pytest.raises(IllegalTransition):
        async with store.transaction() as tx:
            await tx.insert_run(run_record("r-new"))
            await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id="w1")
            await tx.put_output("r1", "a", -1, a.id, '{"v": 1}')
            await tx.cache_put("k", kind="python", value_json="1", run_id="r1", step_id="a")
            await tx.add_events([Event(EventType.STEP_STARTED, "r1", "a")])
            await tx.transition(b.id, A.LEASED, A.RUNNING, worker_id="intruder")
    assert (await by_id(store, "r1"))[a.id].state is A.LEASED
    with pytest.raises(NotFoundError):
        await store.output("r1", "a", -1)
    with pytest.raises(NotFoundError):
        await store.get_run("r-new")
    assert await store.events("r1") == []
    assert (await store.cache_stats()).entries == 0
    async with store.transaction() as tx:  # the store is usable afterwards
        await tx.add_events([Event(EventType.STEP_STARTED, "r1", "a")])
    assert len(await store.events("r1")) == 1


# -- readiness, skipping, reopening ------------------------------------------------------


async def test_release_counts_needs_down_to_ready(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        await tx.insert_attempts(
            [
                NewAttempt("r1", "join", 1, A.PENDING, waiting_on=2),
                NewAttempt("r1", "done", 1, A.SUCCEEDED),
                NewAttempt("r1", "item", 1, A.PENDING, item=0, waiting_on=1),
            ]
        )
    ready_at = (
        "SELECT step_id, state, waiting_on, ready_at FROM attempts WHERE run_id=? ORDER BY id"
    )
    async with store.transaction() as tx:
        await tx.release("r1", ["join", "done", "item"])
    rows = await raw(store, ready_at, ("r1",))
    assert [r[:3] for r in rows] == [
        ("join", "pending", 1),
        ("done", "succeeded", 0),
        ("item", "pending", 1),
    ]
    assert rows[0][3] is None
    before = time.time()
    async with store.transaction() as tx:
        await tx.release("r1", ["join"])
    [join] = [r for r in await raw(store, ready_at, ("r1",)) if r[0] == "join"]
    assert join[1:3] == ("ready", 0) and before <= join[3] <= time.time()
    assert [a.step_id for a in await claim(store)] == ["join"]


async def test_expand_parks_a_parent_until_its_items_are_counted_down(store: SqlStore) -> None:
    await seed(store, "r1", ["each"])
    [parent] = await claim(store, "w1", start={"each"})
    async with store.transaction() as tx:
        await tx.expand(parent.id, 2)
    parked = (await by_id(store, "r1"))[parent.id]
    assert (parked.state, parked.waiting_on, parked.worker_id, parked.lease_expires) == (
        A.RUNNING,
        2,
        None,
        None,
    )
    assert await store.held_attempts() == []  # it holds no worker while its items run
    async with store.transaction() as tx:
        counted = [await tx.count_item("r1", "each") for _ in range(2)]
        assert [(c.id, c.waiting_on) for c in counted if c] == [(parent.id, 1), (parent.id, 0)]
        assert await tx.count_item("r1", "nothing") is None  # no such step


async def test_skip_pending_skips_only_pending_current_attempts(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        await tx.insert_attempts(
            [
                NewAttempt("r1", "a", 1, A.PENDING, waiting_on=1),
                NewAttempt("r1", "b", 1, A.PENDING, waiting_on=2),
                NewAttempt("r1", "c", 1, A.READY),
            ]
        )
        skipped = await tx.skip_pending("r1", ["a", "b", "c", "ghost"], "upstream failed")
        assert await tx.skip_pending("r1", [], "nothing") == []
    assert sorted(skipped) == ["a", "b"]
    states = {a.step_id: a for a in await store.attempts("r1")}
    assert states["a"].state is A.SKIPPED and states["a"].reason == "upstream failed"
    assert states["b"].finished_at is not None and states["c"].state is A.READY


async def test_reopen_supersedes_with_a_ready_successor(store: SqlStore) -> None:
    await seed(store, "r1", ["a"], labels="gpu")
    [a] = await claim(store, "w1", labels=label_subsets(["gpu"]))
    async with store.transaction() as tx:
        await tx.transition(a.id, A.LEASED, A.FAILED, error="x")
        await tx.reopen([a.id], "resumed")
        await tx.reopen([], "nothing")
        current = await tx.current_attempt("r1", "a", -1)
        assert await tx.node_states("r1", ["a"]) == {"a": A.READY}
    assert current is not None and current.id != a.id
    assert (current.number, current.state, current.reason) == (2, A.READY, "resumed")
    assert current.worker_id is None and not current.superseded
    old = (await by_id(store, "r1"))[a.id]
    assert old.superseded and old.state is A.FAILED
    assert [x.id for x in await store.attempts("r1", include_superseded=False)] == [current.id]
    assert await claim(store, "w-plain", labels=[""]) == []  # labels were copied
    assert [x.id for x in await claim(store, "w1", labels=["gpu"])] == [current.id]
