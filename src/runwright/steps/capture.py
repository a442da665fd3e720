"""Capturing a step process's output: decoded, masked as one stream, capped, logged.

Used by the shell step, the gate's commands and coding agents alike.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Callable

from runwright.redaction import Redactor, StreamMasker

#: Bytes of each stream kept in a step's output (the rest streams to the logs only).
OUTPUT_CAP = 1024 * 1024


class Tail:
    """Keeps at most ``OUTPUT_CAP`` trailing bytes of a stream, counting what it drops.

    It is fed text that is already masked: cutting raw output could keep the
    last characters of a secret whose beginning was cut away.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._dropped = 0

    def feed(self, text: str) -> None:
        self._buf += text.encode("utf-8", errors="surrogateescape")
        excess = len(self._buf) - OUTPUT_CAP
        if excess > 0:
            del self._buf[:excess]
            self._dropped += excess

    def text(self) -> str:
        body = self._buf.decode("utf-8", errors="replace")
        if self._dropped:
            body = f"[runwright: {self._dropped} earlier bytes truncated]\n{body}"
        return body


class Capture(asyncio.SubprocessProtocol):
    # A protocol rather than StreamReaders: data is folded into the capped tails
    # as it arrives (no unbounded buffering), and process exit is observed
    # separately from pipe closure, which Process.wait() on 3.11 conflates.
    # Each stream is decoded and masked as one text (a secret split between two
    # reads is still masked), then kept in its tail and streamed to the run's logs.

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.stdout = Tail()
        self.stderr = Tail()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._decoders = {fd: codecs.getincrementaldecoder("utf-8")("replace") for fd in (1, 2)}
        self._maskers: dict[int, StreamMasker] | None = None
        self._log: Callable[[str, str], None] = _no_log
        #: What arrived before attach(): the start of the process races with it.
        self._early: list[tuple[int, bytes]] = []

    def attach(self, redactor: Redactor, log: Callable[[str, str], None]) -> None:
        """Start masking, keeping and logging output (with what arrived before)."""
        self._maskers = {1: redactor.stream(), 2: redactor.stream()}
        self._log = log
        early, self._early = self._early, []
        for fd, raw in early:
            self._take(fd, self._decoders[fd].decode(raw))

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        if self._maskers is None:
            self._early.append((fd, raw))
        else:
            self._take(fd, self._decoders[fd].decode(raw))

    def note(self, fd: int, text: str) -> None:
        """Add runwright's own remark to a stream, in order with the output."""
        self._take(fd, self._decoders[fd].decode(b"", final=True) + text)

    def finish(self) -> None:
        """The streams ended: release what the maskers and decoders held back."""
        if self._maskers is None:
            return
        for fd, masker in self._maskers.items():
            self._put(fd, masker.feed(self._decoders[fd].decode(b"", final=True)) + masker.flush())
        self._maskers = None

    def _take(self, fd: int, text: str) -> None:
        if self._maskers is not None:
            self._put(fd, self._maskers[1 if fd == 1 else 2].feed(text))

    def _put(self, fd: int, safe: str) -> None:
        if safe:
            (self.stdout if fd == 1 else self.stderr).feed(safe)
            self._log("stdout" if fd == 1 else "stderr", safe)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        # Called once the process has exited and every pipe is closed.
        self.process_exited()
        if not self.closed.done():
            self.closed.set_result(None)


def _no_log(stream: str, text: str) -> None:
    pass
