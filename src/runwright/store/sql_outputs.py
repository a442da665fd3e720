"""Outputs, content-addressed blobs and the cache, as written inside a transaction."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection
from typing import Any

from runwright.errors import NotFoundError
from runwright.store.records import CacheEntry
from runwright.store.sql import BLOB_THRESHOLD, Cursor

#: One output written (or overwritten by a later attempt of the same step and item).
OUTPUT_UPSERT = (
    "INSERT INTO outputs (run_id, step_id, item, attempt_id, value, blob)"
    " VALUES (?,?,?,?,?,?) ON CONFLICT (run_id, step_id, item) DO UPDATE SET"
    " attempt_id=excluded.attempt_id, value=excluded.value, blob=excluded.blob"
)


class OutputWrites:
    """The output, blob and cache part of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ()
    _c: Cursor

    async def put_output(
        self, run_id: str, step_id: str, item: int, attempt_id: int, value_json: str
    ) -> None:
        value, blob = await self._maybe_blob(value_json)
        await self._c.count(OUTPUT_UPSERT, (run_id, step_id, item, attempt_id, value, blob))

    async def _maybe_blob(self, value_json: str) -> tuple[str | None, str | None]:
        if len(value_json) < BLOB_THRESHOLD:
            return value_json, None
        data = value_json.encode()
        sha = hashlib.sha256(data).hexdigest()
        await self._c.count(
            "INSERT INTO blobs (sha256, size, data) VALUES (?,?,?) ON CONFLICT (sha256) DO NOTHING",
            (sha, len(data), data),
        )
        return None, sha

    async def load_value(self, value: str | None, blob: str | None) -> Any:
        if blob is not None:
            rows = await self._c.rows("SELECT data FROM blobs WHERE sha256=?", (blob,))
            if not rows:
                raise NotFoundError(f"blob {blob} is missing from the database")
            return json.loads(bytes(rows[0][0]))
        return None if value is None else json.loads(value)

    async def outputs(
        self, run_id: str, keys: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], Any]:
        result: dict[tuple[str, int], Any] = {}
        for step_id, item in keys:
            rows = await self._c.rows(
                "SELECT value, blob FROM outputs WHERE run_id=? AND step_id=? AND item=?",
                (run_id, step_id, item),
            )
            if rows:
                result[(step_id, item)] = await self.load_value(rows[0][0], rows[0][1])
        return result

    async def item_outputs(self, run_id: str, step_id: str) -> list[Any]:
        count = (
            await self._c.rows(
                "SELECT COALESCE(MAX(item)+1, 0) FROM attempts WHERE run_id=? AND step_id=?",
                (run_id, step_id),
            )
        )[0][0]
        values: list[Any] = [None] * int(count)
        for item, value, blob in await self._c.rows(
            "SELECT item, value, blob FROM outputs WHERE run_id=? AND step_id=? AND item>=0",
            (run_id, step_id),
        ):
            values[item] = await self.load_value(value, blob)
        return values

    async def cache_get(self, key: str) -> CacheEntry | None:
        rows = await self._c.rows(
            "UPDATE cache SET hits=hits+1, last_hit_at=? WHERE key=?"
            " RETURNING kind, value, blob, run_id, step_id, created_at",
            (time.time(), key),
        )
        if not rows:
            return None
        r = rows[0]
        return CacheEntry(key, r[0], await self.load_value(r[1], r[2]), r[3], r[4], r[5])

    async def cache_put(
        self, key: str, *, kind: str, value_json: str, run_id: str, step_id: str
    ) -> None:
        value, blob = await self._maybe_blob(value_json)
        await self._c.count(
            "INSERT INTO cache (key, kind, value, blob, size, run_id, step_id, created_at)"
            " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (key) DO UPDATE SET value=excluded.value,"
            " blob=excluded.blob, size=excluded.size, run_id=excluded.run_id,"
            " step_id=excluded.step_id, created_at=excluded.created_at",
            (key, kind, value, blob, len(value_json), run_id, step_id, time.time()),
        )
