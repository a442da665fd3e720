"""The patch ledger's rows and diff blobs, written once for both SQL databases."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from runwright.errors import NotFoundError
from runwright.store.records_patches import PATCH_COLUMNS, PatchRecord, patch_from_row
from runwright.store.sql import Cursor, Dialect


class PatchWrites:
    """The patch part of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ()
    _c: Cursor
    _d: Dialect

    async def put_blob(self, data: bytes) -> str:
        """Store ``data`` content-addressed; its sha256."""
        sha = hashlib.sha256(data).hexdigest()
        await self._c.count(
            "INSERT INTO blobs (sha256, size, data) VALUES (?,?,?) ON CONFLICT (sha256) DO NOTHING",
            (sha, len(data), data),
        )
        return sha

    async def blob(self, sha: str) -> bytes:
        rows = await self._c.rows("SELECT data FROM blobs WHERE sha256=?", (sha,))
        if not rows:
            raise NotFoundError(f"blob {sha} is missing from the database")
        return bytes(rows[0][0])

    async def insert_patch(self, p: PatchRecord) -> bool:
        """Add ``p``; False when a patch with its id is already in the ledger."""
        marks = ",".join("?" * 20)
        return (
            await self._c.count(
                f"INSERT INTO patches ({PATCH_COLUMNS}) VALUES ({marks})"
                " ON CONFLICT (id) DO NOTHING",
                (
                    p.id,
                    p.run_id,
                    p.step_id,
                    p.item,
                    p.attempt,
                    p.attempt_id,
                    p.agent,
                    p.repo,
                    p.base,
                    p.branch,
                    _json_list(p.files),
                    p.added,
                    p.removed,
                    p.diff_blob,
                    p.state,
                    p.reason,
                    p.applied_branch,
                    p.applied_commit,
                    p.created_at,
                    p.updated_at,
                ),
            )
            == 1
        )

    async def patch(self, id_or_prefix: str, *, lock: bool = False) -> PatchRecord:
        """A patch by id or unique id prefix (at least 4 characters)."""
        needle = id_or_prefix.strip().lower()
        if len(needle) < 4:
            raise NotFoundError(
                f"patch id {id_or_prefix!r} is too short; give 4 characters or more"
            )
        rows = await self._c.rows(
            f"SELECT {PATCH_COLUMNS} FROM patches WHERE id LIKE ? ORDER BY id LIMIT 2"
            + (self._d.lock_row if lock else ""),
            (needle + "%",),
        )
        if not rows:
            raise NotFoundError(
                f"no patch {id_or_prefix!r} in the ledger; `runwright patches` lists them"
            )
        if len(rows) > 1:
            raise NotFoundError(
                f"patch id {id_or_prefix!r} is ambiguous ({rows[0][0][:12]}, {rows[1][0][:12]},"
                " ...); give more characters"
            )
        return patch_from_row(rows[0])

    async def update_patch(self, patch_id: str, **fields: Any) -> None:
        cols = ", ".join(f"{k}=?" for k in fields)
        await self._c.count(f"UPDATE patches SET {cols} WHERE id=?", (*fields.values(), patch_id))

    async def patches(
        self,
        *,
        run_id: str | None = None,
        state: str | None = None,
        agent: str | None = None,
        limit: int = 200,
    ) -> list[PatchRecord]:
        where: list[str] = []
        args: list[Any] = []
        for col, value in (("run_id", run_id), ("state", state), ("agent", agent)):
            if value is not None:
                where.append(f"{col}=?")
                args.append(value)
        sql = f"SELECT {PATCH_COLUMNS} FROM patches"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = await self._c.rows(sql + " ORDER BY created_at, id LIMIT ?", (*args, limit))
        return [patch_from_row(r) for r in rows]


def _json_list(items: Sequence[str]) -> str:
    return json.dumps(list(items))
