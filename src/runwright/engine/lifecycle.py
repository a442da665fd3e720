"""Run lifecycle transactions: create, cancel, reopen attempts for resume."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Sequence
from typing import Any

from runwright.engine.plan import Plan
from runwright.events import Event, EventType, Level
from runwright.states import AttemptState, RunStatus, check_run
from runwright.store.base import Store, Transaction
from runwright.store.records import AttemptRecord, NewAttempt, RunRecord

A = AttemptState
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_INSERT_SLICE = 500


def new_run_id() -> str:
    """A sortable, unique id: 9 base-36 characters of milliseconds, 6 random."""
    ms = int(time.time() * 1000)
    stamp = ""
    while ms:
        ms, r = divmod(ms, 36)
        stamp = _ALPHABET[r] + stamp
    return f"r{stamp}{''.join(secrets.choice(_ALPHABET) for _ in range(6))}"


def initial_attempts(run_id: str, plan: Plan, step_ids: Sequence[str]) -> list[NewAttempt]:
    return [
        NewAttempt(
            run_id,
            s,
            1,
            A.PENDING if plan.steps[s].needs else A.READY,
            waiting_on=len(plan.steps[s].needs),
            labels=plan.steps[s].labels,
        )
        for s in step_ids
    ]


async def create_run(
    store: Store,
    *,
    plan: Plan,
    spec_hash: str,
    spec_source: str,
    spec_path: str | None,
    inputs: dict[str, Any],
    options: dict[str, Any],
    redacted_inputs: dict[str, Any],
) -> RunRecord:
    """Insert a run, its first attempts and ``run.started`` in one transaction."""
    async with store.transaction() as tx:
        return await create_run_in_tx(
            tx,
            plan=plan,
            spec_hash=spec_hash,
            spec_source=spec_source,
            spec_path=spec_path,
            inputs=inputs,
            options=options,
            redacted_inputs=redacted_inputs,
        )


async def create_run_in_tx(
    tx: Transaction,
    *,
    plan: Plan,
    spec_hash: str,
    spec_source: str,
    spec_path: str | None,
    inputs: dict[str, Any],
    options: dict[str, Any],
    redacted_inputs: dict[str, Any],
) -> RunRecord:
    """:func:`create_run` inside the caller's transaction (a schedule fire commits with it)."""
    now = time.time()
    run = RunRecord(
        id=new_run_id(),
        pipeline=plan.pipeline.name,
        spec_hash=spec_hash,
        spec_source=spec_source,
        spec_path=spec_path,
        inputs=inputs,
        status=RunStatus.RUNNING,
        created_at=now,
        updated_at=now,
        options=options,
        started_at=now,
    )
    await tx.insert_run(run)
    # In slices: the rows of a 10,000-step run are not all built in memory at once.
    order = plan.order
    for start in range(0, len(order), _INSERT_SLICE):
        await tx.insert_attempts(
            initial_attempts(run.id, plan, order[start : start + _INSERT_SLICE])
        )
    await tx.add_events(
        [
            Event(
                EventType.RUN_STARTED,
                run.id,
                data={
                    "pipeline": plan.pipeline.name,
                    "spec_hash": spec_hash,
                    "inputs": redacted_inputs,
                    "steps": len(plan.steps),
                    "pid": os.getpid(),
                },
            )
        ]
    )
    return run


async def cancel_in_tx(tx: Transaction, run_id: str, *, reason: str) -> None:
    """Mark a run cancelled; approvals it waits on are cancelled with it."""
    status = await tx.run_status(run_id)
    await tx.set_run_status(
        run_id, check_run(status, RunStatus.CANCELLED), finished=True, error=reason
    )
    for a in await tx.current_attempts(run_id, (A.WAITING,)):
        await tx.transition(a.id, A.WAITING, A.CANCELLED, reason=reason)
    await tx.add_events(
        [Event(EventType.RUN_CANCELLED, run_id, level=Level.WARNING, data={"reason": reason})]
    )


async def reopen(tx: Transaction, attempts: Sequence[AttemptRecord], *, reason: str) -> None:
    """Give each (already finished or abandoned) attempt a fresh successor, ready to run."""
    await tx.reopen([a.id for a in attempts], reason)
