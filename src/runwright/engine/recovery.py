"""Resume: turn a crashed, killed, failed or cancelled run back into a runnable one.

Only attempts that had not committed run again, each as a new attempt whose
reason says why (``resumed``); committed results are never redone.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

from runwright.engine.lifecycle import reopen
from runwright.engine.plan import Plan
from runwright.errors import RunBusyError, StateError
from runwright.events import Event, EventType
from runwright.states import AttemptState, RunStatus, check_run
from runwright.store.base import Store, Transaction
from runwright.store.records import NO_ITEM, AttemptRecord, NewAttempt, RunRecord, WorkerRecord

A = AttemptState
_IN_FLIGHT = (A.LEASED, A.RUNNING)
_ENDED_UNDONE = (A.FAILED, A.CANCELLED)


def worker_alive(
    worker: WorkerRecord | None, *, lease_expires: float | None, now: float, lease_seconds: float
) -> bool:
    """Whether the worker holding an attempt may still commit it."""
    if worker is None or worker.state == "stopped":
        return False
    if worker.host == socket.gethostname():
        try:
            os.kill(worker.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        # A live pid with a stale heartbeat is a reused pid, not our worker.
        return now - worker.heartbeat_at < lease_seconds
    return lease_expires is not None and lease_expires > now


async def check_not_busy(store: Store, run: RunRecord, *, lease_seconds: float) -> None:
    attempts = await store.attempts(run.id, include_superseded=False, states=_IN_FLIGHT)
    holders = {a.worker_id for a in attempts if a.worker_id}
    if not holders:
        return
    workers = await store.workers(holders)
    now = time.time()
    for a in attempts:
        if (
            a.state in _IN_FLIGHT
            and a.worker_id
            and worker_alive(
                workers.get(a.worker_id),
                lease_expires=a.lease_expires,
                now=now,
                lease_seconds=lease_seconds,
            )
        ):
            raise RunBusyError(
                f"run {run.id} is being executed by worker {a.worker_id} (step {a.step_id!r}); "
                f"cancel it with `runwright cancel {run.id}` or wait for it to finish"
            )


async def reconcile(
    tx: Transaction, run: RunRecord, plan: Plan, spec: tuple[str, str] | None = None
) -> dict[str, list[str]]:
    """Reopen what did not commit; return what will run again, by reason."""
    # The steps' own attempts, and of the items only those to run again: a resumed
    # for_each of 100,000 items reads the few that did not commit, not all of them.
    nodes = await tx.current_attempts(run.id, nodes_only=True)
    redo = await tx.current_attempts(run.id, (*_IN_FLIGHT, *_ENDED_UNDONE))
    status = await tx.run_status(run.id)
    if status is RunStatus.SUCCEEDED and spec is None:
        raise StateError(f"run {run.id} already succeeded; there is nothing to resume")
    report: dict[str, list[str]] = {
        "abandoned": [],
        "failed": [],
        "cancelled": [],
        "added": [],
        "unblocked": [],
    }
    reopened: list[AttemptRecord] = []
    for a in redo:
        if a.step_id not in plan.steps:
            continue
        label = a.step_id if a.item == NO_ITEM else f"{a.step_id}[{a.item}]"
        if a.state in _IN_FLIGHT and not (a.item == NO_ITEM and a.worker_id is None):
            await tx.transition(a.id, a.state, A.ABANDONED, reason="process died")
            report["abandoned"].append(label)
            reopened.append(a)
        elif a.state in _ENDED_UNDONE:
            report["failed" if a.state is A.FAILED else "cancelled"].append(label)
            reopened.append(a)
    await reopen(tx, reopened, reason="resumed")
    # A budget stop ends with the run: resumed, its calls are checked against the budgets
    # as they are now (raised, or not).
    await tx.clear_budget_stop(run.id)
    states: dict[str, AttemptState] = {a.step_id: a.state for a in nodes}
    states.update({a.step_id: A.READY for a in reopened if a.item == NO_ITEM})
    await _reopen_skipped(tx, run.id, plan, nodes, states, report)
    missing = [s for s in plan.order if s not in states]
    if missing:
        await tx.insert_attempts(_added(run.id, plan, missing, states))
        report["added"] = missing
    await tx.set_run_status(run.id, check_run(status, RunStatus.RUNNING), spec=spec)
    await tx.add_events([Event(EventType.RUN_RESUMED, run.id, data=report)])
    return report


async def _reopen_skipped(
    tx: Transaction,
    run_id: str,
    plan: Plan,
    nodes: list[AttemptRecord],
    states: dict[str, AttemptState],
    report: dict[str, list[str]],
) -> None:
    # Steps skipped because a need failed get another chance once that need re-runs.
    by_step = {a.step_id: a for a in nodes}
    for step_id in plan.order:
        a = by_step.get(step_id)
        if a is None or a.state is not A.SKIPPED or not (a.reason or "").startswith("needs "):
            continue
        needs = plan.steps[step_id].needs
        waiting = sum(1 for n in needs if not states.get(n, A.PENDING).finished)
        if waiting == 0:
            continue  # nothing upstream runs again, so the reason to skip still holds
        await tx.supersede([a.id])
        await tx.insert_attempts(
            [
                NewAttempt(
                    run_id,
                    step_id,
                    a.number + 1,
                    A.PENDING if waiting else A.READY,
                    reason="resumed",
                    waiting_on=waiting,
                    labels=plan.steps[step_id].labels,
                )
            ]
        )
        states[step_id] = A.PENDING
        report["unblocked"].append(step_id)


def _added(
    run_id: str, plan: Plan, step_ids: list[str], states: Mapping[str, AttemptState]
) -> list[NewAttempt]:
    result = []
    for step_id in step_ids:
        waiting = sum(1 for n in plan.steps[step_id].needs if not states.get(n, A.PENDING).finished)
        result.append(
            NewAttempt(
                run_id,
                step_id,
                1,
                A.PENDING if waiting else A.READY,
                reason="added",
                waiting_on=waiting,
                labels=plan.steps[step_id].labels,
            )
        )
    return result
