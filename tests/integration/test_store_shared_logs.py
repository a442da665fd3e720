"""The Store protocol on both databases: log chunks (migration 0003) and output references."""

from __future__ import annotations

import hashlib
import json

from storetools import raw, seed

from runwright.store.records import LogChunk
from runwright.store.sql import BLOB_THRESHOLD
from runwright.store.sql_store import SqlStore


def chunk(step: str, seq: int, text: str, *, stream: str = "stdout", **kw: int) -> LogChunk:
    return LogChunk("r1", step, kw.get("item", -1), kw.get("attempt", 1), stream, seq, text, 1.0)


async def test_log_chunks_page_in_commit_order_and_filter(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.add_log_chunks([chunk("a", 0, "a0\n"), chunk("b", 0, "b0", stream="stderr")])
    async with store.transaction() as tx:
        await tx.add_log_chunks(
            [
                chunk("a", 1, "a1\n"),
                chunk("a", 0, "retry\n", attempt=2),
                chunk("e", 0, "i3", item=3),
            ]
        )
        await tx.add_log_chunks([LogChunk("r2", "a", -1, 1, "stdout", 0, "other run", 1.0)])
    every = await store.logs("r1")
    assert [(c.step_id, c.attempt, c.stream, c.seq, c.text) for c in every] == [
        ("a", 1, "stdout", 0, "a0\n"),
        ("b", 1, "stderr", 0, "b0"),
        ("a", 1, "stdout", 1, "a1\n"),
        ("a", 2, "stdout", 0, "retry\n"),
        ("e", 1, "stdout", 0, "i3"),
    ]
    ids = [c.id or 0 for c in every]
    assert 0 not in ids and ids == sorted(set(ids))
    page = await store.logs("r1", after=ids[1], limit=2)
    assert [c.text for c in page] == ["a1\n", "retry\n"]
    assert [c.text for c in await store.logs("r1", step_id="a")] == ["a0\n", "a1\n", "retry\n"]
    assert [c.item_or_none for c in await store.logs("r1", item=3)] == [3]
    assert [c.text for c in await store.logs("r1", streams=["stderr"])] == ["b0"]
    streams = await store.log_streams("r1")
    assert [(s.step_id, s.item, s.attempt, s.stream, s.chunks, s.size) for s in streams] == [
        ("a", -1, 1, "stdout", 2, 6),
        ("b", -1, 1, "stderr", 1, 2),
        ("a", -1, 2, "stdout", 1, 6),
        ("e", 3, 1, "stdout", 1, 2),
    ]


async def test_a_rewritten_chunk_is_kept_once_and_big_chunks_live_in_blobs(
    store: SqlStore,
) -> None:
    big = "é" + "x" * BLOB_THRESHOLD
    for _ in range(2):  # a retried commit writes the same chunks again
        async with store.transaction() as tx:
            await tx.add_log_chunks([chunk("a", 0, "small"), chunk("a", 1, big)])
    assert [c.text for c in await store.logs("r1")] == ["small", big]
    sha = hashlib.sha256(big.encode()).hexdigest()
    rows = await raw(store, "SELECT seq, data, blob, size FROM logs ORDER BY seq")
    assert rows == [(0, "small", None, 5), (1, None, sha, len(big))]
    assert await raw(store, "SELECT sha256 FROM blobs") == [(sha,)]


async def test_output_refs_name_the_blob_or_the_inline_size(store: SqlStore) -> None:
    [a] = await seed(store, "r1", ["a"])
    big_json = json.dumps("y" * BLOB_THRESHOLD)
    async with store.transaction() as tx:
        await tx.put_output("r1", "small", -1, a.id, '{"v": "é"}')
        await tx.put_output("r1", "big", 2, a.id, big_json)
    refs = [r.to_json() for r in await store.output_refs("r1")]
    assert refs == [
        {
            "step_id": "big",
            "item": 2,
            "attempt_id": a.id,
            "size": len(big_json),
            "blob": hashlib.sha256(big_json.encode()).hexdigest(),
        },
        {"step_id": "small", "item": None, "attempt_id": a.id, "size": 11, "blob": None},
    ]
    assert [r.inline_json for r in await store.output_refs("r1")] == [None, '{"v": "é"}']
    assert await store.output_refs("nope") == []
