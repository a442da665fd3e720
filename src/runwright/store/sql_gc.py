"""What ``runwright gc`` reads: run states, repositories in use, ended attempts' processes."""

from __future__ import annotations

from collections.abc import Collection

from runwright.states import RunStatus
from runwright.store.records_gc import EndedProcess
from runwright.store.sql import Cursor

#: Attempt states in which no process of the attempt should still be alive.
_ENDED = ("succeeded", "failed", "skipped", "cached", "cancelled", "abandoned")
#: Ids per ``IN (...)`` query: well under SQLite's parameter limit.
_CHUNK = 500


class GcReads:
    """The gc part of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ()
    _c: Cursor

    async def run_states(self, run_ids: Collection[str]) -> dict[str, RunStatus]:
        ids = sorted(set(run_ids))
        found: dict[str, RunStatus] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = await self._c.rows(
                f"SELECT id, status FROM runs WHERE id IN ({marks})", tuple(chunk)
            )
            found.update((str(r[0]), RunStatus(r[1])) for r in rows)
        return found

    async def gc_repositories(self) -> list[str]:
        rows = await self._c.rows("SELECT DISTINCT repo FROM patches ORDER BY repo")
        return [str(r[0]) for r in rows]

    async def pipeline_paths(self) -> list[str]:
        rows = await self._c.rows(
            "SELECT DISTINCT spec_path FROM runs WHERE spec_path IS NOT NULL ORDER BY spec_path"
        )
        return [str(r[0]) for r in rows]

    async def ended_processes(self, *, limit: int = 10_000) -> list[EndedProcess]:
        marks = ",".join("?" * len(_ENDED))
        rows = await self._c.rows(
            "SELECT run_id, step_id, item, number, state, worker_id, process FROM attempts"
            f" WHERE process IS NOT NULL AND state IN ({marks})"
            " ORDER BY id DESC LIMIT ?",
            (*_ENDED, limit),
        )
        return [
            EndedProcess(str(r[0]), str(r[1]), int(r[2]), int(r[3]), str(r[4]), r[5], str(r[6]))
            for r in rows
        ]
