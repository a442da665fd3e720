"""Streaming a running attempt's output into the store, masked, in small chunks.

A step kind hands its output to :meth:`LogWriter.write` as it arrives. Each
stream is masked as one text (:class:`~runwright.redaction.StreamMasker`, so a
secret split across two pieces is masked too) before anything is kept. What
accumulates is committed in its own short transaction every ``FLUSH_INTERVAL``
seconds or ``CHUNK_CHARS`` characters, so ``runwright logs --follow`` shows a
running step live and no process holds a whole log in memory. What is left when
the attempt ends is committed with the attempt's outcome (no extra commit for a
short step).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from functools import partial

from runwright.engine.resilience import retrying
from runwright.errors import StoreError
from runwright.redaction import Redactor, StreamMasker
from runwright.store.base import Store
from runwright.store.records import AttemptRecord, LogChunk

log = logging.getLogger("runwright.worker")
#: Seconds between commits of a running attempt's new output.
FLUSH_INTERVAL = 0.5
#: Characters per chunk; reaching it also commits at once.
CHUNK_CHARS = 64 * 1024
#: Characters logged per stream of one attempt; the rest is counted, not kept.
STREAM_CAP = 64 * 1024 * 1024
#: Characters held while the database is busy; beyond, output is counted, not kept.
MAX_PENDING = 8 * 1024 * 1024


class LogWriter:
    """Masks, buffers and commits the output streams of one attempt."""

    def __init__(
        self,
        store: Store,
        attempt: AttemptRecord,
        redactor: Redactor,
        *,
        interval: float | None = None,
        chunk_chars: int | None = None,
    ) -> None:
        self._store = store
        self._a = attempt
        self._redactor = redactor
        self._interval = FLUSH_INTERVAL if interval is None else interval
        self._chunk = CHUNK_CHARS if chunk_chars is None else chunk_chars
        self._maskers: dict[str, StreamMasker] = {}
        self._pending: dict[str, list[str]] = {}
        self._pending_chars = 0
        self._written: dict[str, int] = {}
        self._dropped: dict[str, int] = {}
        self._seq: dict[str, int] = {}
        self._kick = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._closed = False

    def write(self, stream: str, text: str) -> None:
        """Take a piece of ``stream``'s output (any size, any boundary); never blocks."""
        if self._closed or not text:
            return
        masker = self._maskers.get(stream)
        if masker is None:
            masker = self._maskers[stream] = self._redactor.stream()
        self._keep(stream, masker.feed(text))
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._run())
        if self._pending_chars >= self._chunk:
            self._kick.set()

    def _keep(self, stream: str, safe: str) -> None:
        if not safe:
            return
        room = min(STREAM_CAP - self._written.get(stream, 0), MAX_PENDING - self._pending_chars)
        if room < len(safe):
            self._dropped[stream] = self._dropped.get(stream, 0) + len(safe) - max(0, room)
            safe = safe[: max(0, room)]
        if safe:
            self._pending.setdefault(stream, []).append(safe)
            self._pending_chars += len(safe)
            self._written[stream] = self._written.get(stream, 0) + len(safe)

    def _take(self) -> list[LogChunk]:
        """Everything pending, cut into chunks of at most ``chunk_chars``."""
        chunks: list[LogChunk] = []
        now = time.time()
        a = self._a
        for stream, pieces in self._pending.items():
            text = "".join(pieces)
            for start in range(0, len(text), self._chunk):
                seq = self._seq.get(stream, 0)
                self._seq[stream] = seq + 1
                piece = text[start : start + self._chunk]
                chunks.append(
                    LogChunk(a.run_id, a.step_id, a.item, a.number, stream, seq, piece, now)
                )
        self._pending.clear()
        self._pending_chars = 0
        return chunks

    async def _run(self) -> None:
        while not self._closed:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self._interval)
            if self._closed:
                return  # what is left goes with the outcome
            self._kick.clear()
            chunks = self._take()
            if not chunks:
                continue
            try:
                await retrying(self._store, "write step logs", partial(self._commit, chunks))
            except StoreError as exc:
                # Logs must never fail the step; the outcome commit reports a broken store.
                log.warning("could not write the logs of %s: %s", self._a.step_id, exc)

    async def _commit(self, chunks: list[LogChunk]) -> None:
        async with self._store.transaction() as tx:
            await tx.add_log_chunks(chunks)

    async def close(self) -> list[LogChunk]:
        """Stop streaming; return what is left, for the outcome's own transaction."""
        if self._closed:
            return []
        self._closed = True
        if self._pump is not None:
            self._kick.set()
            await self._pump  # lets a commit in progress finish
        for stream, masker in self._maskers.items():
            self._keep(stream, masker.flush())
        for stream, dropped in self._dropped.items():
            self._pending.setdefault(stream, []).append(
                f"\n[runwright: {dropped} more characters of {stream} were not logged]\n"
            )
        return self._take()
