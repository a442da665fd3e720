"""The Store protocol on both databases: leases, reaping, workers, wake-up flags."""

from __future__ import annotations

import time

import pytest
from storetools import A, by_id, claim, raw, run_record, seed

from runwright.errors import IllegalTransition, NotFoundError, StateError
from runwright.states import RunStatus
from runwright.store.records import NewAttempt, WorkerRecord
from runwright.store.sql_store import SqlStore


def worker(worker_id: str, state: str = "active", *, beat: float | None = None) -> WorkerRecord:
    now = time.time()
    return WorkerRecord(
        worker_id, "host", 42, state, 4, ["gpu"], now, now if beat is None else beat
    )


async def lease_of(store: SqlStore, attempt_id: int) -> float:
    [(lease,)] = await raw(store, "SELECT lease_expires FROM attempts WHERE id=?", (attempt_id,))
    return float(lease)


# -- expired leases ----------------------------------------------------------------------


async def test_reap_expired_reopens_and_fences_out_the_old_holder(store: SqlStore) -> None:
    await seed(store, "r1", ["lost", "alive"])
    now = time.time()
    async with store.transaction() as tx:
        lost, alive = await tx.claim(
            worker_id="w-old", limit=2, now=now, lease_until=now - 1, start={"lost"}
        )
        await tx.transition(alive.id, A.LEASED, A.RUNNING, worker_id="w-old")
    async with store.transaction() as tx:  # `alive` renews its lease in time
        await tx.cursor.count(
            "UPDATE attempts SET lease_expires=? WHERE id=?", (now + 60, alive.id)
        )
    async with store.transaction() as tx:
        reaped = await tx.reap_expired(time.time())
    assert [(a.id, a.state) for a in reaped] == [(lost.id, A.ABANDONED)]
    attempts = await by_id(store, "r1")
    assert attempts[lost.id].superseded and attempts[lost.id].state is A.ABANDONED
    assert attempts[lost.id].finished_at is not None
    assert attempts[alive.id].state is A.RUNNING and not attempts[alive.id].superseded
    [successor] = [a for a in attempts.values() if a.step_id == "lost" and not a.superseded]
    assert (successor.number, successor.state, successor.reason) == (2, A.READY, "lease_expired")
    assert successor.worker_id is None
    # The old holder's late result is refused, and its output goes with it.
    with pytest.raises(IllegalTransition):
        async with store.transaction() as tx:
            await tx.put_output("r1", "lost", -1, lost.id, '"late"')
            await tx.transition(lost.id, A.RUNNING, A.SUCCEEDED, worker_id="w-old")
    with pytest.raises(NotFoundError):
        await store.output("r1", "lost", -1)
    assert (await by_id(store, "r1"))[lost.id].state is A.ABANDONED
    async with store.transaction() as tx:
        assert await tx.reap_expired(time.time()) == []  # nothing is reaped twice
    assert [a.id for a in await claim(store, "w-new")] == [successor.id]


# -- workers -----------------------------------------------------------------------------


async def test_register_worker_upserts_state_and_heartbeat(store: SqlStore) -> None:
    first = worker("w1", "starting", beat=100.0)
    await store.register_worker(first)
    await store.register_worker(worker("w2"))
    assert await store.workers([]) == {}
    assert list(await store.workers(["w1"])) == ["w1"]
    assert await store.workers(["w1"]) == {"w1": first}
    await store.register_worker(worker("w1", "active", beat=200.0))
    w1 = (await store.workers())["w1"]
    assert (w1.state, w1.heartbeat_at, w1.started_at, w1.labels) == (
        "active",
        200.0,
        first.started_at,
        ["gpu"],
    )
    await store.set_worker_state("w1", "stopped")
    assert (await store.workers(["w1"]))["w1"].state == "stopped"


async def test_heartbeat_renews_only_the_listed_leases(store: SqlStore) -> None:
    await seed(store, "r1", ["a", "b", "c"])
    await store.register_worker(worker("w1"))
    a, b = await claim(store, "w1", limit=2, lease_for=10)
    [c] = await claim(store, "w2", lease_for=10)
    now = time.time()
    state = await store.heartbeat("w1", now=now, lease_until=now + 500, attempt_ids=[a.id])
    assert state == "active"
    assert await lease_of(store, a.id) == pytest.approx(now + 500)
    assert await lease_of(store, b.id) < now + 20
    assert await store.heartbeat("w1", now=now + 1, lease_until=now + 900) == "active"
    assert await lease_of(store, a.id) == await lease_of(store, b.id) == pytest.approx(now + 900)
    assert await lease_of(store, c.id) < now + 20  # another worker's lease is untouched
    assert (
        await store.heartbeat("w1", now=now + 2, lease_until=now + 999, attempt_ids=[]) == "active"
    )
    assert await lease_of(store, a.id) == pytest.approx(now + 900)
    assert (await store.workers(["w1"]))["w1"].heartbeat_at == pytest.approx(now + 2)
    assert await store.heartbeat("ghost", now=now, lease_until=now + 1) is None


async def test_mark_lost_workers_and_a_lost_worker_coming_back(store: SqlStore) -> None:
    now = time.time()
    await store.register_worker(worker("silent", beat=now - 120))
    await store.register_worker(worker("draining", "draining", beat=now - 120))
    await store.register_worker(worker("fresh", beat=now))
    await store.register_worker(worker("stopped", "stopped", beat=now - 120))
    lost = await store.mark_lost_workers(now=now, silent_for=60)
    assert sorted(lost) == ["draining", "silent"]
    states = {w.id: w.state for w in (await store.workers()).values()}
    assert states == {"silent": "lost", "draining": "lost", "fresh": "active", "stopped": "stopped"}
    assert await store.mark_lost_workers(now=now, silent_for=60) == []
    assert await store.heartbeat("silent", now=now, lease_until=now + 60) == "active"


async def test_request_drain_by_prefix_and_only_for_live_workers(store: SqlStore) -> None:
    for worker_id, state in [("host:1:aa", "active"), ("host:2:bb", "starting"), ("d", "stopped")]:
        await store.register_worker(worker(worker_id, state))
    drained = await store.request_drain("host:1:aa")
    assert (drained.id, drained.state) == ("host:1:aa", "draining")
    assert (await store.request_drain("host:1:aa")).state == "draining"  # asking twice is fine
    with pytest.raises(NotFoundError, match="worker id 'host' is ambiguous"):
        await store.request_drain("host")
    with pytest.raises(NotFoundError, match="no worker 'nobody'"):
        await store.request_drain("nobody")
    with pytest.raises(StateError, match="worker d is stopped; only a live worker can drain"):
        await store.request_drain("d")
    assert (await store.workers(["d"]))["d"].state == "stopped"
    drained = await store.request_drain("host:2")
    assert (drained.id, drained.state) == ("host:2:bb", "draining")
    async with store.transaction() as tx:
        await tx.cursor.count("UPDATE workers SET state='lost' WHERE id=?", ("host:2:bb",))
    with pytest.raises(StateError, match="is lost"):
        await store.request_drain("host:2")


async def test_request_drain_exact_id_wins_over_longer_ids(store: SqlStore) -> None:
    await store.register_worker(worker("w1"))
    await store.register_worker(worker("w10"))
    assert (await store.request_drain("w1")).id == "w1"
    assert (await store.workers(["w10"]))["w10"].state == "active"


async def test_held_attempts_are_the_leased_and_running_ones(store: SqlStore) -> None:
    await seed(store, "r1", ["a", "b", "c", "d"])
    now = time.time()
    async with store.transaction() as tx:
        a, b, c = await tx.claim(worker_id="w1", limit=3, now=now, lease_until=now + 9, start={"b"})
        await tx.transition(c.id, A.LEASED, A.FAILED, worker_id="w1")
    assert [(x.id, x.state) for x in await store.held_attempts()] == [
        (a.id, A.LEASED),
        (b.id, A.RUNNING),
    ]


async def test_unsettled_runs_are_running_runs_with_nothing_ready_or_held(
    store: SqlStore,
) -> None:
    cases = {
        "all-done": [NewAttempt("all-done", "a", 1, A.SUCCEEDED)],
        "ready": [NewAttempt("ready", "a", 1, A.READY)],
        "leased": [NewAttempt("leased", "a", 1, A.READY)],
        "parent-only": [NewAttempt("parent-only", "each", 1, A.RUNNING, waiting_on=2)],
        "pending": [NewAttempt("pending", "a", 1, A.PENDING, waiting_on=1)],
        "waiting-run": [NewAttempt("waiting-run", "a", 1, A.SUCCEEDED)],
    }
    for run_id, attempts in cases.items():
        status = RunStatus.WAITING if run_id == "waiting-run" else RunStatus.RUNNING
        async with store.transaction() as tx:
            await tx.insert_run(run_record(run_id, status))
            await tx.insert_attempts(attempts)
    await claim(store, "w1", run_id="leased")
    assert sorted(await store.unsettled_runs()) == ["all-done", "parent-only", "pending"]
    assert len(await store.unsettled_runs(limit=2)) == 2


async def test_latencies_measure_ready_or_due_to_started(store: SqlStore) -> None:
    t0 = time.time()
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        await tx.insert_attempts(
            [
                NewAttempt("r1", "now", 1, A.READY),
                NewAttempt("r1", "due", 1, A.READY, not_before=t0 + 100),
                NewAttempt("r1", "never", 1, A.READY, not_before=t0 + 10_000),
                NewAttempt("r1", "wait", 1, A.PENDING, waiting_on=1),
            ]
        )
    async with store.transaction() as tx:
        await tx.claim(
            worker_id="w", limit=5, now=t0 + 107, lease_until=t0 + 200, start={"now", "due"}
        )
    assert sorted(await store.latencies("r1")) == [
        pytest.approx(7, abs=1),
        pytest.approx(107, abs=1),
    ]
    assert await store.latencies("other") == []


# -- wake-up flags -----------------------------------------------------------------------


async def test_made_ready_and_wakes_others(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.insert_run(run_record("r1"))
        await tx.insert_attempts([NewAttempt("r1", "p", 1, A.PENDING, waiting_on=1)])
        assert (tx.made_ready, tx.wakes_others) == (0, False)
        await tx.release("r1", ["p"])
        assert (tx.made_ready, tx.wakes_others) == (1, True)  # ready, nobody claimed it
    async with store.transaction() as tx:  # counters start afresh in each transaction
        assert (tx.made_ready, tx.wakes_others) == (0, False)
        await tx.insert_attempts([NewAttempt("r1", s, 1, A.READY) for s in ("q", "r")])
        assert tx.made_ready == 2
        assert len(await tx.claim(worker_id="w", limit=1, now=time.time(), lease_until=1e12)) == 1
        assert tx.wakes_others  # a full claim may have left work behind
        got = await tx.claim(worker_id="w", limit=5, now=time.time(), lease_until=1e12)
        assert len(got) == 2 and not tx.wakes_others  # came back short: took everything
        # A commit that claims first and releases after: what it readied is left behind.
        await tx.insert_attempts([NewAttempt("r1", "j", 1, A.PENDING, waiting_on=1)])
        await tx.release("r1", ["j"])
        assert (tx.made_ready, tx.wakes_others) == (3, True)
    async with store.transaction() as tx:
        await tx.transition(got[0].id, A.LEASED, A.FAILED)
        await tx.reopen([got[0].id], "retry")
        assert (tx.made_ready, tx.wakes_others) == (1, True)
    async with store.transaction() as tx:
        await tx.set_run_status("r1", RunStatus.WAITING)
        assert tx.made_ready == 0
        await tx.set_run_status("r1", RunStatus.RUNNING)  # a resumed run may have ready work
        assert tx.wakes_others
