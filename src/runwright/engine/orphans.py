"""Before a re-run acts: make sure no process of the attempt it replaces is still alive.

A step's process group normally dies with its runner (the watchdog,
:mod:`runwright.processes`). This is the check that does not rely on it: every
attempt that re-runs a step after ``resume`` or a lease expiry looks up the
process groups its abandoned predecessors recorded and, for a group on this
machine that is still the same group, SIGTERMs it, then SIGKILLs it after a
grace period, and waits for it to be gone. What it found is committed as
a ``step.orphans_checked`` event before the new attempt starts its own work.

A group on another machine cannot be reached from here; the event says so,
with the state of the worker that held it (its watchdog kills the group when
that worker dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from typing import Any

from runwright.engine.commit import attempt_event
from runwright.engine.resilience import retrying
from runwright.errors import StepError
from runwright.events import Event, EventType, Level
from runwright.processes import ProcessGroup, boot_id, members, same_group
from runwright.store.base import Store
from runwright.store.records import AttemptProcess, AttemptRecord

#: Reasons of attempts that replace an abandoned one (whose processes may live on).
REPLACING = frozenset({"resumed", "lease_expired"})
#: Seconds between SIGTERM and SIGKILL for an orphaned group.
ORPHAN_GRACE = 2.0
#: Seconds to wait for a SIGKILLed group to be gone before giving up on the attempt.
KILL_DEADLINE = 10.0
_POLL = 0.02


async def clear_orphans(store: Store, a: AttemptRecord) -> None:
    """Kill what is left of ``a``'s abandoned predecessors here; commit what was found.

    Raises a retryable :class:`~runwright.errors.StepError` if a group survives SIGKILL.
    """
    if a.reason not in REPLACING or a.number <= 1:
        return

    async def read() -> list[AttemptProcess]:
        async with store.transaction() as tx:
            return await tx.abandoned_processes(a.run_id, a.step_id, a.item, before=a.number)

    previous = await retrying(store, "read an abandoned attempt's processes", read)
    events: list[Event] = []
    survivors: list[int] = []
    for old in previous:
        data = await _settle(store, old)
        if data is None:
            continue
        survivors.extend(data.get("alive", []))
        level = Level.ERROR if data["outcome"] == "survived" else Level.WARNING
        if data["outcome"] in ("gone", "reused"):
            level = Level.INFO
        events.append(attempt_event(a, EventType.STEP_ORPHANS_CHECKED, data, level))
    if events:

        async def write() -> None:
            async with store.transaction() as tx:
                await tx.add_events(events)

        await retrying(store, "record the orphans check", write)
    if survivors:
        raise StepError(
            f"processes {survivors} of an earlier attempt of step {a.step_id!r} are still alive "
            f"after SIGKILL (stuck in the kernel?); kill them, then `runwright resume {a.run_id}`"
        )


async def _settle(store: Store, old: AttemptProcess) -> dict[str, Any] | None:
    group = ProcessGroup.from_json(old.process)
    data: dict[str, Any] = {
        "attempt": old.number,
        "pgid": group.pgid,
        "host": group.host,
        "worker_id": old.worker_id,
    }
    if group.host == socket.gethostname() and group.boot != boot_id():
        data.update(outcome="gone", found=[], note="this machine rebooted since")
        return data
    if not group.local:
        worker = (
            (await store.workers([old.worker_id])).get(old.worker_id) if old.worker_id else None
        )
        state = worker.state if worker is not None else "unknown"
        data.update(
            outcome="elsewhere",
            worker_state=state,
            note=f"the group ran on {group.host}, which this worker cannot reach; the watchdog "
            f"of worker {old.worker_id} ({state}) kills it when that worker dies",
        )
        return data
    if not same_group(group):
        data.update(outcome="reused", note="the number now belongs to a later process; left alone")
        return data
    found = members(group.pgid)
    if not found:
        data.update(outcome="gone", found=[])
        return data
    data["found"] = found
    sent = await kill_group(group.pgid)
    alive = members(group.pgid)
    data.update(signals=sent, outcome="survived" if alive else "killed")
    if alive:
        data["alive"] = alive
    return data


async def kill_group(pgid: int) -> list[str]:
    """SIGTERM the group, SIGKILL it after the grace period; wait (with a deadline) for it."""
    sent = ["SIGTERM"]
    _signal(pgid, signal.SIGTERM)
    deadline = time.monotonic() + ORPHAN_GRACE
    while members(pgid):
        if time.monotonic() > deadline:
            if sent[-1] == "SIGKILL":
                break
            sent.append("SIGKILL")
            _signal(pgid, signal.SIGKILL)
            deadline = time.monotonic() + KILL_DEADLINE
        await asyncio.sleep(_POLL)
    return sent


def _signal(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
