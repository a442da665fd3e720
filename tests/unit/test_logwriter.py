"""The log writer on the in-memory store: masking across pieces, chunking, the cap."""

from __future__ import annotations

import asyncio

import pytest

from runwright.engine import logwriter
from runwright.engine.logwriter import LogWriter
from runwright.redaction import Redactor
from runwright.states import AttemptState
from runwright.store.records import AttemptRecord
from runwright.testing import memory_store

SECRET = "s3cret-value-0123456789"


def attempt() -> AttemptRecord:
    return AttemptRecord(
        1, "r1", "s", -1, 2, 1, AttemptState.RUNNING, None, False, 0, 0.0, "w", None, 0.0, None,
        None, None,
    )  # fmt: skip


async def test_pieces_are_masked_as_one_stream_and_left_for_the_outcome() -> None:
    store = memory_store()
    writer = LogWriter(store, attempt(), Redactor([SECRET]), interval=3600, chunk_chars=5)
    for piece in ("x=", SECRET[:4], SECRET[4:], "\n", "err"):
        writer.write("stdout" if piece != "err" else "stderr", piece)
    rest = await writer.close()
    assert "".join(c.text for c in rest if c.stream == "stdout") == "x=***\n"
    assert [c.seq for c in rest if c.stream == "stdout"] == [0, 1]  # cut at 5 characters
    assert all(c.attempt == 2 and c.step_id == "s" for c in rest)
    assert await store.logs("r1") == []  # nothing was committed on its own
    writer.write("stdout", "late")
    assert await writer.close() == []
    await store.close()


async def test_a_full_chunk_commits_at_once_and_the_cap_is_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logwriter, "STREAM_CAP", 12)
    store = memory_store()
    writer = LogWriter(store, attempt(), Redactor([]), interval=3600, chunk_chars=4)
    writer.write("stdout", "abcdefgh")
    deadline = 200
    while not await store.logs("r1") and deadline:
        await asyncio.sleep(0.01)
        deadline -= 1
    assert [c.text for c in await store.logs("r1")] == ["abcd", "efgh"]
    writer.write("stdout", "ijklmnop")
    rest = await writer.close()
    assert "".join(c.text for c in rest).startswith("ijkl\n[runwright: 4 more characters")
    await store.close()
