"""Schedules through the API: add, list, pause, resume and remove cron schedules.

A schedule starts one run of a pipeline file per fire time of its cron
expression; the runs are executed by workers (see :mod:`runwright.schedule`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path

from runwright.api.session import Session
from runwright.errors import NotFoundError, StateError, UsageError
from runwright.schedule.cron import DEFAULT_CATCHUP, next_after, validate, validate_catchup
from runwright.spec.inputs import resolve_inputs
from runwright.store.records import ScheduleRecord

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(f"no schedule {name!r}; `runwright schedule list` shows them")


async def add_schedule(
    session: Session,
    name: str,
    path: str | Path,
    *,
    cron: str,
    tz: str = "UTC",
    inputs: Mapping[str, str] | None = None,
    catchup: str = DEFAULT_CATCHUP,
    now: float | None = None,
) -> ScheduleRecord:
    """Add a schedule that starts a run of the pipeline at ``path`` at each fire time.

    Everything is checked now rather than at the first fire: the name, the cron
    expression and time zone, the catch-up policy, the pipeline file and that
    ``inputs`` (strings, as from ``--input key=value``) fit its declared inputs.
    The file's absolute path is stored; it is read again at each fire, so edits
    to it apply to later runs. The first fire is the first after ``now``.
    """
    if not NAME.match(name):
        raise UsageError(
            f"schedule name {name!r} is not allowed; use letters, digits, '_', '.' and '-',"
            " starting with a letter or digit"
        )
    cron = " ".join(cron.split())
    validate(cron, tz)
    validate_catchup(catchup)
    given = dict(inputs or {})
    loaded = session.load(path)
    resolve_inputs(loaded.pipeline, given, strings=True)
    now = time.time() if now is None else now
    record = ScheduleRecord(
        name=name,
        spec_path=str(Path(path).resolve()),
        cron=cron,
        tz=tz,
        inputs=given,
        catchup=catchup,
        paused=False,
        next_fire=next_after(cron, tz, now),
        created_at=now,
    )
    async with session.store.transaction() as tx:
        added = await tx.insert_schedule(record)
    if not added:
        raise StateError(
            f"a schedule named {name!r} already exists; remove it first with"
            f" `runwright schedule remove {name}`, or choose another name"
        )
    return record


async def list_schedules(session: Session) -> list[ScheduleRecord]:
    """Every schedule, by name."""
    return await session.store.schedules()


async def remove_schedule(session: Session, name: str) -> ScheduleRecord:
    """Delete a schedule and its fire history; the runs it started are kept."""
    record = await session.store.schedule(name)
    async with session.store.transaction() as tx:
        removed = await tx.delete_schedule(name)
    if not removed:  # removed by someone else in between
        raise _not_found(name)
    return record


async def pause_schedule(session: Session, name: str) -> ScheduleRecord:
    """Stop a schedule from starting runs until :func:`resume_schedule` (idempotent)."""
    async with session.store.transaction() as tx:
        found = await tx.update_schedule(name, paused=1)
    if not found:
        raise _not_found(name)
    return await session.store.schedule(name)


async def resume_schedule(
    session: Session, name: str, *, now: float | None = None
) -> ScheduleRecord:
    """Let a paused schedule start runs again, from its first fire time after ``now``.

    Fire times missed while paused are not replayed, whatever the catch-up
    policy: pausing means "do not run". (Catch-up is for fire times missed while
    no scheduler was running.) Resuming a schedule that is not paused changes
    nothing, so fire times it still has to catch up on are kept.
    """
    record = await session.store.schedule(name)
    if not record.paused:
        return record
    now = time.time() if now is None else now
    async with session.store.transaction() as tx:
        found = await tx.update_schedule(
            name, paused=0, next_fire=next_after(record.cron, record.tz, now)
        )
    if not found:
        raise _not_found(name)
    return await session.store.schedule(name)


async def schedule_fires(session: Session, name: str) -> list[tuple[int, str]]:
    """(fire time, run id) of every run the schedule started, oldest first."""
    await session.store.schedule(name)  # NotFoundError for an unknown name
    return await session.store.schedule_fires(name)
