"""Step logs and output references, as the SQL stores write and read them.

Log chunks arrive already masked (see :mod:`runwright.engine.logwriter`); a chunk
of ``BLOB_THRESHOLD`` characters or more is stored in ``blobs`` by reference,
like a large output. Writing a chunk twice (a retried commit) is a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from typing import Any

from runwright.errors import NotFoundError
from runwright.store.records import NO_ITEM, LogChunk, LogStream, OutputRef
from runwright.store.sql import BLOB_THRESHOLD, Cursor, Row, marks

_LOG_COLUMNS = "id, run_id, step_id, item, attempt, stream, seq, ts, data, blob"


async def add_log_chunks(c: Cursor, chunks: Sequence[LogChunk]) -> None:
    """Insert chunks (inside the caller's transaction); big ones go to ``blobs``."""
    rows = []
    for ch in chunks:
        data: str | None = ch.text
        blob = None
        if len(ch.text) >= BLOB_THRESHOLD:
            raw = ch.text.encode()
            blob = hashlib.sha256(raw).hexdigest()
            await c.count(
                "INSERT INTO blobs (sha256, size, data) VALUES (?,?,?)"
                " ON CONFLICT (sha256) DO NOTHING",
                (blob, len(raw), raw),
            )
            data = None
        key = (ch.run_id, ch.step_id, ch.item, ch.attempt, ch.stream, ch.seq)
        rows.append((*key, ch.ts, len(ch.text), data, blob))
    if rows:
        await c.many(
            "INSERT INTO logs (run_id, step_id, item, attempt, stream, seq, ts, size, data, blob)"
            " VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (run_id, step_id, item, attempt, stream,"
            " seq) DO NOTHING",
            rows,
        )


class LogReads:
    """The log and output-reference reads of :class:`~runwright.store.sql_store.SqlStore`."""

    __slots__ = ()

    async def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def logs(
        self,
        run_id: str,
        *,
        after: int = 0,
        limit: int = 1000,
        step_id: str | None = None,
        item: int | None = None,
        streams: Collection[str] = (),
    ) -> list[LogChunk]:
        """A run's log chunks with ``id > after``, in commit order (blobs resolved)."""
        sql = f"SELECT {_LOG_COLUMNS} FROM logs WHERE run_id=? AND id>?"
        args: list[Any] = [run_id, after]
        if step_id is not None:
            sql += " AND step_id=?"
            args.append(step_id)
        if item is not None:
            sql += " AND item=?"
            args.append(item)
        if streams:
            sql += f" AND stream IN ({marks(streams)})"
            args.extend(streams)
        rows = await self._rows(sql + " ORDER BY id LIMIT ?", (*args, limit))
        chunks = []
        for r in rows:
            text = r[8] if r[9] is None else await self._blob_text(r[9])
            chunks.append(
                LogChunk(r[1], r[2], int(r[3]), int(r[4]), r[5], int(r[6]), text, r[7], int(r[0]))
            )
        return chunks

    async def _blob_text(self, sha: str) -> str:
        found = await self._rows("SELECT data FROM blobs WHERE sha256=?", (sha,))
        if not found:
            raise NotFoundError(f"blob {sha} is missing from the database")
        return bytes(found[0][0]).decode("utf-8", errors="replace")

    async def log_streams(self, run_id: str) -> list[LogStream]:
        """Every stream a run's attempts logged: chunk count and size, in step order."""
        rows = await self._rows(
            "SELECT step_id, item, attempt, stream, COUNT(*), SUM(size), MIN(id) FROM logs"
            " WHERE run_id=? GROUP BY step_id, item, attempt, stream ORDER BY MIN(id)",
            (run_id,),
        )
        return [LogStream(r[0], int(r[1]), int(r[2]), r[3], int(r[4]), int(r[5])) for r in rows]

    async def output_refs(
        self,
        run_id: str,
        *,
        nodes_only: bool = False,
        after: tuple[str, int] | None = None,
        limit: int | None = None,
    ) -> list[OutputRef]:
        """A run's committed outputs by reference (step, item, blob or inline, size), in
        (step, item) order: all, the steps' own (``nodes_only``), or a page after ``after``."""
        sql = (
            "SELECT o.step_id, o.item, o.attempt_id, o.blob, b.size, o.value FROM outputs o"
            " LEFT JOIN blobs b ON b.sha256 = o.blob WHERE o.run_id=?"
        )
        args: list[Any] = [run_id]
        if nodes_only:
            sql += f" AND o.item={NO_ITEM}"
        if after is not None:
            sql += " AND (o.step_id>? OR (o.step_id=? AND o.item>?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY o.step_id, o.item"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = await self._rows(sql, args)
        # Inline values are small (under BLOB_THRESHOLD): sized here, in bytes like blobs.
        return [
            OutputRef(
                r[0], int(r[1]), int(r[2]), int(r[4] or len((r[5] or "").encode())), r[3], r[5]
            )
            for r in rows
        ]
