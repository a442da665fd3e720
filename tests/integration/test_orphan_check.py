"""The re-run's orphan check against real process groups and a real store (both databases)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fixtures_steps.stepctx import async_wait_until
from storetools import A, claim, seed

from runwright.engine import orphans
from runwright.engine.orphans import clear_orphans
from runwright.errors import StepError
from runwright.processes import ProcessGroup, describe, members
from runwright.store.records import AttemptRecord, WorkerRecord
from runwright.store.sql_store import SqlStore


@pytest.fixture
def groups() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Process groups a test starts; all are SIGKILLed (and reaped) afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _group(groups: list[subprocess.Popen[bytes]], script: str) -> int:
    proc = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    groups.append(proc)
    deadline = time.monotonic() + 10
    while len(members(proc.pid)) < 2:  # the shell and its sleep
        assert time.monotonic() < deadline, "the group never started"
        time.sleep(0.01)
    return proc.pid


async def _rerun_of(store: SqlStore, group: ProcessGroup) -> AttemptRecord:
    """Attempt 1 started ``group`` under worker w1 and was abandoned; return its re-run."""
    await seed(store)
    [a] = await claim(store, "w1")
    async with store.transaction() as tx:
        await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id="w1")
        await tx.record_process(a.id, group.to_json(), worker_id="w1")
    async with store.transaction() as tx:
        await tx.transition(a.id, A.RUNNING, A.ABANDONED, reason="lease expired")
        await tx.reopen([a.id], "lease_expired")
    [rerun] = [x for x in await store.attempts("r1") if x.number == 2]
    return rerun


async def _checked(store: SqlStore) -> list[dict[str, Any]]:
    return [e.data for e in await store.events("r1", types=["step.orphans_checked"])]


async def test_a_live_group_is_terminated_then_killed(
    store: SqlStore, groups: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orphans, "ORPHAN_GRACE", 0.2)  # a shorter wait, same path
    # Ignored signals are inherited: neither the shell nor its sleep obeys SIGTERM.
    pgid = _group(groups, "trap '' TERM; sleep 300 & wait")
    found = members(pgid)
    rerun = await _rerun_of(store, describe(pgid))
    await clear_orphans(store, rerun)
    assert members(pgid) == []
    [event] = await _checked(store)
    assert event["outcome"] == "killed"
    assert (event["attempt"], event["pgid"], event["worker_id"]) == (1, pgid, "w1")
    assert event["found"] == found and event["signals"] == ["SIGTERM", "SIGKILL"]


async def test_a_group_that_obeys_sigterm_gets_no_sigkill(
    store: SqlStore, groups: list[subprocess.Popen[bytes]]
) -> None:
    pgid = _group(groups, "sleep 300 & wait")
    await clear_orphans(store, await _rerun_of(store, describe(pgid)))
    await async_wait_until(lambda: members(pgid) == [])
    [event] = await _checked(store)
    assert (event["outcome"], event["signals"]) == ("killed", ["SIGTERM"])


async def test_a_reused_group_number_is_left_alone(
    store: SqlStore, groups: list[subprocess.Popen[bytes]]
) -> None:
    pgid = _group(groups, "sleep 300 & wait")
    real = describe(pgid)
    assert real.start is not None
    # The recorded leader started at another time: this live group is someone else's.
    rerun = await _rerun_of(store, dataclasses.replace(real, start=real.start - 1))
    await clear_orphans(store, rerun)
    assert len(members(pgid)) == 2
    [event] = await _checked(store)
    assert event["outcome"] == "reused"


async def test_a_group_on_another_host_is_reported_with_its_workers_state(
    store: SqlStore,
) -> None:
    now = time.time()
    await store.register_worker(WorkerRecord("w1", "far", 1, "lost", 1, [], now, now))
    rerun = await _rerun_of(store, ProcessGroup(4242, "far", 1, "other-boot"))
    await clear_orphans(store, rerun)
    [event] = await _checked(store)
    assert (event["outcome"], event["host"], event["worker_state"]) == ("elsewhere", "far", "lost")
    assert "watchdog of worker w1 (lost)" in event["note"]


async def test_a_group_already_gone_is_reported_and_a_first_attempt_checks_nothing(
    store: SqlStore, groups: list[subprocess.Popen[bytes]]
) -> None:
    pgid = _group(groups, "sleep 300 & wait")
    group = describe(pgid)
    os.killpg(pgid, signal.SIGKILL)
    await async_wait_until(lambda: members(pgid) == [])
    rerun = await _rerun_of(store, group)
    first = next(x for x in await store.attempts("r1") if x.number == 1)
    await clear_orphans(store, first)  # not a re-run: no check, no event
    assert await _checked(store) == []
    await clear_orphans(store, rerun)
    [event] = await _checked(store)
    assert (event["outcome"], event["found"]) == ("gone", [])


async def test_a_group_that_survives_sigkill_fails_the_attempt(
    store: SqlStore, groups: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stopped process still dies of SIGKILL; to see the deadline path, stub the signal.
    monkeypatch.setattr(orphans, "ORPHAN_GRACE", 0.05)
    monkeypatch.setattr(orphans, "KILL_DEADLINE", 0.1)
    monkeypatch.setattr(orphans, "_signal", lambda pgid, sig: None)
    pgid = _group(groups, "sleep 300 & wait")
    with pytest.raises(StepError, match="still alive after SIGKILL"):
        await clear_orphans(store, await _rerun_of(store, describe(pgid)))
    [event] = await _checked(store)
    assert event["outcome"] == "survived" and event["alive"] == members(pgid)


async def test_a_group_from_before_a_reboot_of_this_machine_is_gone(store: SqlStore) -> None:
    # A number that may well be alive now: after a reboot it is not ours, whatever it is.
    rerun = await _rerun_of(store, ProcessGroup(1, socket.gethostname(), 1, "an-earlier-boot"))
    await clear_orphans(store, rerun)
    [event] = await _checked(store)
    assert (event["outcome"], event["note"]) == ("gone", "this machine rebooted since")
