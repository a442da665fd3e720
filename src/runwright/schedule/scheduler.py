"""The scheduler: turns due fire times into runs, one run per fire time, on any number of workers.

Each schedule fires in its own transaction: lock the schedule row (waiting for
a scheduler that holds it), create the run of each due fire time, claim the fire
time in ``schedule_fires`` (unique on schedule and fire time), advance
``next_fire``, commit. The row lock keeps two schedulers from working on one
schedule at once (on SQLite, ``BEGIN IMMEDIATE`` serialises all writers); the one
that waited then finds ``next_fire`` advanced. The unique key is the guarantee
that holds even if that fails: a run whose fire time turns out to be claimed
already is rolled back with the rest of its transaction, which is then retried
without that fire time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from runwright.errors import RunwrightError, StoreError, StoreUnavailable
from runwright.schedule.cron import due, fire_time_iso, next_after

if TYPE_CHECKING:
    from runwright.api.session import Session
    from runwright.store.base import Transaction
    from runwright.store.records import ScheduleRecord

log = logging.getLogger("runwright.scheduler")

#: Seconds between two looks for due schedules.
DEFAULT_INTERVAL = 5.0
#: Most runs one schedule starts in one tick (``catchup: all`` continues on the next).
MAX_FIRES_PER_TICK = 100

#: (schedule name, fire time, run id) of a run a tick started.
Fired = tuple[str, int, str]


class _AlreadyFired(Exception):
    """Another scheduler started this fire time: roll back the run made for it."""

    def __init__(self, fire_time: int) -> None:
        super().__init__(fire_time)
        self.fire_time = fire_time


async def tick(session: Session, *, now: float | None = None) -> list[Fired]:
    """Start the runs of every fire time due by ``now`` (default: the current time).

    Returns (schedule, fire time, run id) of the runs started, which wait for
    workers to execute them. A schedule whose pipeline file no longer loads or
    whose inputs no longer fit is logged, skips its due fire times and moves on
    to the next fire time; it never stops the other schedules. Store errors
    propagate: nothing of the failed schedule's transaction was kept.
    """
    now = time.time() if now is None else now
    async with session.store.transaction() as tx:
        listed = await tx.due_schedules(now)
    started: list[Fired] = []
    for s in listed:
        try:
            started += await _fire(session, s, now)
        except StoreError:
            raise
        except Exception:  # a bug or a corrupt row in one schedule must not stop the others
            log.exception(
                "schedule %s failed to fire",
                s.name,
                extra={"event": "schedule.error", "schedule": s.name},
            )
    return started


async def _fire(session: Session, listed: ScheduleRecord, now: float) -> list[Fired]:
    claimed: set[int] = set()
    # Each retry learns one more claimed fire time, and a schedule has finitely many due.
    while True:
        try:
            async with session.store.transaction() as tx:
                return await _fire_in_tx(session, tx, listed, now, claimed)
        except _AlreadyFired as exc:
            log.warning(
                "schedule %s: fire time %s was already started; skipping it",
                listed.name,
                exc.fire_time,
                extra={"event": "schedule.fire_claimed", "schedule": listed.name},
            )
            claimed.add(exc.fire_time)


async def _fire_in_tx(
    session: Session, tx: Transaction, listed: ScheduleRecord, now: float, claimed: set[int]
) -> list[Fired]:
    # Wait for the row lock (never skip: a skipped schedule would wait for the next
    # tick) and re-read under it: another scheduler may have fired it meanwhile, or it
    # was paused or removed.
    s = await tx.lock_schedule(listed.name, now)
    if s is None:
        return []
    fires = due(s.cron, s.tz, s.next_fire, now, s.catchup, limit=MAX_FIRES_PER_TICK)
    started: list[Fired] = []
    broken = False
    for f in fires:
        if f in claimed:
            continue
        try:
            run = await session.create_run_in_tx(
                tx, s.spec_path, inputs=s.inputs, inputs_are_strings=True
            )
        except StoreError:
            raise
        except RunwrightError as exc:
            # Raised while loading and validating, before anything was written.
            log.warning(
                "schedule %s: cannot start a run of %s for %s: %s",
                s.name,
                s.spec_path,
                fire_time_iso(f, s.tz),
                exc.message,
                extra={"event": "schedule.fire_failed", "schedule": s.name, "fire_time": f},
            )
            broken = True
            break
        if not await tx.record_fire(s.name, f, run.id, now):
            raise _AlreadyFired(f)
        log.info(
            "schedule %s started run %s for %s",
            s.name,
            run.id,
            fire_time_iso(f, s.tz),
            extra={"event": "schedule.fired", "schedule": s.name, "run_id": run.id},
        )
        started.append((s.name, f, run.id))
    # A full batch under catchup "all" continues after its last fire time next tick;
    # otherwise every fire time up to now is handled (started or skipped by policy).
    full = not broken and len(fires) == MAX_FIRES_PER_TICK
    next_fire = next_after(s.cron, s.tz, fires[-1] if full else now)
    fields: dict[str, object] = {"next_fire": next_fire}
    if started:
        fields.update(last_fire=started[-1][1], last_run_id=started[-1][2])
    await tx.update_schedule(s.name, **fields)
    return started


async def run_scheduler(
    session: Session, stopping: asyncio.Event, *, interval: float = DEFAULT_INTERVAL
) -> None:
    """Call :func:`tick` every ``interval`` seconds until ``stopping`` is set.

    A failing tick (database unreachable, a bug) is logged and retried on the
    next interval: the scheduler outlives database restarts like workers do.
    """
    while not stopping.is_set():
        try:
            await tick(session)
        except StoreUnavailable as exc:
            log.warning(
                "scheduler waiting for the database: %s", exc, extra={"event": "store.unavailable"}
            )
            with contextlib.suppress(Exception):
                await session.store.reset_connections()
        except Exception:
            log.exception("scheduler tick failed", extra={"event": "scheduler.error"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=interval)
