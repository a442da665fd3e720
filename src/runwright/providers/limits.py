"""Per-provider limits: calls in flight per process, requests and tokens per minute shared.

``concurrency`` is an in-process semaphore per endpoint (held for the call's duration,
across every step this process runs). ``rpm`` and ``tpm`` are counted in the store,
in fixed one-minute windows (unix time // 60) per endpoint, so every worker sharing
the database draws from the same allowance: a request takes one unit of ``rpm`` in the
same transaction that checked it (row-locked, so two workers never both take the last);
the tokens a reply used are added after it, and a window whose tokens reached ``tpm``
refuses further requests until the next minute. Without a store the windows are this
process's own.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from runwright.providers.base import Candidate
from runwright.store.base import Store
from runwright.store.records import RateWindow

#: Per event loop (asyncio primitives belong to one), per endpoint.
_SEMAPHORES: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Semaphore]
] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class Allowance:
    """Whether a request may go out now; when not, the time it may (next window)."""

    allowed: bool
    until: float | None = None
    reason: str = ""
    minute: int = 0


def minute_of(now: float) -> int:
    return int(now // 60)


def check(window: RateWindow | None, c: Candidate, *, now: float) -> Allowance:
    """Decide on the counts of the current window (pure; see :class:`Limits`)."""
    cfg = c.config
    minute = minute_of(now)
    requests, tokens = (window.requests, window.tokens) if window else (0, 0)
    next_minute = (minute + 1) * 60.0
    if cfg.rpm is not None and requests >= cfg.rpm:
        return Allowance(False, next_minute, f"{requests}/{cfg.rpm} requests this minute", minute)
    if cfg.tpm is not None and tokens >= cfg.tpm:
        return Allowance(False, next_minute, f"{tokens}/{cfg.tpm} tokens this minute", minute)
    return Allowance(True, minute=minute)


def limited(c: Candidate) -> bool:
    """Whether ``c``'s endpoint has a per-minute limit at all."""
    return c.config.rpm is not None or c.config.tpm is not None


class Limits:
    """The limits of every endpoint: concurrency in this process, rpm/tpm in ``store``."""

    def __init__(self, store: Store | None, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._memory: dict[tuple[str, int], RateWindow] = {}

    def now(self) -> float:
        """The clock the windows are counted by."""
        return self._clock()

    async def take(self, c: Candidate) -> Allowance:
        """Take one request of the current minute's allowance, if there is one left."""
        if not limited(c):
            return Allowance(True)
        now = self._clock()
        minute = minute_of(now)
        if self._store is None:
            key = (c.endpoint, minute)
            decision = check(self._memory.get(key), c, now=now)
            if decision.allowed:
                w = self._memory.get(key) or RateWindow(c.endpoint, minute)
                self._memory[key] = RateWindow(c.endpoint, minute, w.requests + 1, w.tokens)
            return decision
        async with self._store.transaction() as tx:
            window = await tx.lock_rate_window(c.endpoint, minute)
            decision = check(window, c, now=now)
            if decision.allowed:
                await tx.add_to_rate_window(c.endpoint, minute, requests=1)
            return decision

    async def used(self, c: Candidate, allowance: Allowance, tokens: int) -> None:
        """Count the tokens a reply used against the window its request was taken from."""
        if c.config.tpm is None or tokens <= 0:
            return
        if self._store is None:
            key = (c.endpoint, allowance.minute)
            w = self._memory.get(key) or RateWindow(c.endpoint, allowance.minute)
            self._memory[key] = RateWindow(c.endpoint, w.minute, w.requests, w.tokens + tokens)
            return
        async with self._store.transaction() as tx:
            await tx.add_to_rate_window(c.endpoint, allowance.minute, tokens=tokens)

    async def peek(self, candidates: list[Candidate]) -> dict[str, Allowance]:
        """Whether each limited candidate would be allowed now (for ``explain``)."""
        now = self._clock()
        minute = minute_of(now)
        wanted = [c for c in candidates if limited(c)]
        if self._store is None:
            windows = {c.endpoint: self._memory.get((c.endpoint, minute)) for c in wanted}
        else:
            async with self._store.transaction() as tx:
                found = await tx.rate_windows(sorted({c.endpoint for c in wanted}), minute)
            windows = {w.endpoint: w for w in found}
        return {c.endpoint: check(windows.get(c.endpoint), c, now=now) for c in wanted}

    @asynccontextmanager
    async def slot(self, c: Candidate) -> AsyncIterator[None]:
        """Hold one of the endpoint's ``concurrency`` slots in this process (waits for one)."""
        limit = c.config.concurrency
        if limit is None:
            yield
            return
        per_loop = _SEMAPHORES.setdefault(asyncio.get_running_loop(), {})
        sem = per_loop.setdefault((c.endpoint, limit), asyncio.Semaphore(limit))
        async with sem:
            yield
