"""Schedules as written inside a transaction: due fires, one run per fire time."""

from __future__ import annotations

import json
from typing import Any

from runwright.store.records import ScheduleRecord
from runwright.store.sql import Cursor, Dialect, Row

SCHEDULE_COLUMNS = (
    "name, spec_path, cron, tz, inputs, catchup, paused, next_fire, created_at, last_fire,"
    " last_run_id"
)


def schedule_from_row(r: Row) -> ScheduleRecord:
    return ScheduleRecord(
        r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], bool(r[6]), int(r[7]), r[8], r[9], r[10]
    )


class ScheduleWrites:
    """The schedule part of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ()
    _c: Cursor
    _d: Dialect

    async def insert_schedule(self, s: ScheduleRecord) -> bool:
        """Add a schedule; False when one of that name exists."""
        added = await self._c.count(
            f"INSERT INTO schedules ({SCHEDULE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (name) DO NOTHING",
            (
                s.name,
                s.spec_path,
                s.cron,
                s.tz,
                json.dumps(s.inputs),
                s.catchup,
                int(s.paused),
                s.next_fire,
                s.created_at,
                s.last_fire,
                s.last_run_id,
            ),
        )
        return added == 1

    async def update_schedule(self, name: str, **fields: Any) -> bool:
        """Set columns of one schedule; False when there is no such schedule."""
        sets = ", ".join(f"{column}=?" for column in fields)
        return (
            await self._c.count(
                f"UPDATE schedules SET {sets} WHERE name=?", (*fields.values(), name)
            )
            == 1
        )

    async def delete_schedule(self, name: str) -> bool:
        await self._c.count("DELETE FROM schedule_fires WHERE schedule=?", (name,))
        return await self._c.count("DELETE FROM schedules WHERE name=?", (name,)) == 1

    async def due_schedules(self, now: float) -> list[ScheduleRecord]:
        """Unpaused schedules with a fire time at or before ``now`` (not locked)."""
        rows = await self._c.rows(
            f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE paused=0 AND next_fire<=?"
            " ORDER BY name",
            (now,),
        )
        return [schedule_from_row(r) for r in rows]

    async def lock_schedule(self, name: str, now: float) -> ScheduleRecord | None:
        """The schedule if still unpaused and due by ``now``, its row locked until commit.

        Waits for a scheduler holding the row; once it commits, ``next_fire`` has
        moved on and this returns None. (SQLite: ``BEGIN IMMEDIATE`` already
        serialises writers.) The unique fire-time key remains the guarantee.
        """
        rows = await self._c.rows(
            f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE name=? AND paused=0"
            f" AND next_fire<=?{self._d.lock_row}",
            (name, now),
        )
        return schedule_from_row(rows[0]) if rows else None

    async def record_fire(self, name: str, fire_time: int, run_id: str, now: float) -> bool:
        """Claim one fire time for one run; False when another scheduler already did."""
        added = await self._c.count(
            "INSERT INTO schedule_fires (schedule, fire_time, run_id, created_at)"
            " VALUES (?,?,?,?) ON CONFLICT (schedule, fire_time) DO NOTHING",
            (name, fire_time, run_id, now),
        )
        return added == 1
