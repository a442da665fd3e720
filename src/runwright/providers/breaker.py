"""One circuit breaker per provider endpoint, its state in the store for every worker.

    closed ──(threshold consecutive failures)──▶ open ──(cooldown passed)──▶ half_open
       ▲                                            ▲                           │
       └──────────────(the probe succeeds)──────────┴───(the probe fails)───────┘

While open, the endpoint is skipped without a network call. Once the cooldown has
passed, exactly one caller (whichever locks the row first, in any process) takes
the probe under a lease; the others keep skipping until the probe's result is in,
or its lease ran out (the prober died), when the next caller probes.

The decisions are pure functions of a :class:`~runwright.store.records.BreakerRecord`;
:class:`Breakers` reads and writes the record in one short transaction per decision.
A closed breaker that never failed has no row, and costs one indexed read per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from runwright.providers.base import Candidate
from runwright.store.base import Store
from runwright.store.records import BreakerRecord

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
#: Seconds a probe may take beyond its provider's timeout before another caller probes.
PROBE_MARGIN = 5.0
#: Longest provider message kept on a breaker row.
ERROR_QUOTE = 300


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a call may go out now; ``probe``: it is the half-open breaker's one probe."""

    allowed: bool
    probe: bool = False
    #: Refused: the breaker is open until then (or a probe is out until then).
    until: float | None = None
    #: The state the caller saw (the record it decided on; None: never failed).
    record: BreakerRecord | None = None

    @property
    def reason(self) -> str:
        if self.allowed:
            return "half-open: this call is the probe" if self.probe else "closed"
        assert self.record is not None
        if self.record.state == HALF_OPEN:
            return "half-open: another caller is probing"
        return f"open after {self.record.failures} consecutive failure(s)"


def admit(
    b: BreakerRecord | None, *, now: float, probe_for: float
) -> tuple[Admission, BreakerRecord | None]:
    """Decide on ``b``: the admission and the record to write (None: nothing changes)."""
    if b is None or b.state == CLOSED:
        return Admission(True, record=b), None
    if b.state == OPEN and b.open_until is not None and now < b.open_until:
        return Admission(False, until=b.open_until, record=b), None
    if b.state == HALF_OPEN and b.probe_until is not None and now < b.probe_until:
        return Admission(False, until=b.probe_until, record=b), None
    probing = replace(b, state=HALF_OPEN, probe_until=now + probe_for, updated_at=now)
    return Admission(True, probe=True, record=probing), probing


def after_success(b: BreakerRecord | None, *, now: float) -> BreakerRecord | None:
    """The record after a call succeeded (None: nothing to write)."""
    if b is None or (b.state == CLOSED and b.failures == 0):
        return None
    return BreakerRecord(b.endpoint, CLOSED, 0, None, None, b.last_error, now)


def after_failure(
    b: BreakerRecord | None,
    endpoint: str,
    *,
    now: float,
    threshold: int,
    cooldown: float,
    error: str,
) -> BreakerRecord:
    """The record after a call failed in a way that says the endpoint is unwell."""
    failures = (b.failures if b else 0) + 1
    error = error[:ERROR_QUOTE]
    if (b is not None and b.state == HALF_OPEN) or failures >= threshold:
        return BreakerRecord(endpoint, OPEN, failures, now + cooldown, None, error, now)
    state = b.state if b is not None and b.state == OPEN else CLOSED
    return BreakerRecord(endpoint, state, failures, b.open_until if b else None, None, error, now)


class Breakers:
    """The breakers of every endpoint, kept in ``store`` (in this process when None)."""

    def __init__(self, store: Store | None, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._memory: dict[str, BreakerRecord] = {}

    async def admit(self, c: Candidate) -> Admission:
        """May a call to ``c``'s endpoint go out now? Takes the probe when it is due."""
        now = self._clock()
        probe_for = c.config.timeout + PROBE_MARGIN
        if self._store is None:
            decision, write = admit(self._memory.get(c.endpoint), now=now, probe_for=probe_for)
            if write is not None:
                self._memory[c.endpoint] = write
            return decision
        async with self._store.transaction() as tx:
            seen = await tx.breaker(c.endpoint)
            if seen is None or seen.state == CLOSED:
                return Admission(True, record=seen)  # nothing to decide alone: no lock
            # Open or half-open: decide on the locked row, so one caller takes the probe.
            decision, write = admit(
                await tx.breaker(c.endpoint, lock=True), now=now, probe_for=probe_for
            )
            if write is not None:
                await tx.put_breaker(write)
            return decision

    async def succeeded(self, c: Candidate, admission: Admission) -> None:
        """A call admitted by ``admission`` got an answer: close the breaker if it was not."""
        if admission.record is None or (
            admission.record.state == CLOSED and admission.record.failures == 0
        ):
            return  # the common case writes nothing
        await self._update(c, lambda b, now: after_success(b, now=now))

    async def failed(self, c: Candidate, error: str) -> None:
        """A call failed retryably (timeout, unreachable, 5xx, 429, malformed)."""
        cfg = c.config
        await self._update(
            c,
            lambda b, now: after_failure(
                b,
                c.endpoint,
                now=now,
                threshold=cfg.breaker_threshold,
                cooldown=cfg.breaker_cooldown,
                error=error,
            ),
        )

    async def release_probe(self, c: Candidate) -> None:
        """The probe taken was not sent after all: let the next caller probe at once."""
        await self._update(
            c,
            lambda b, now: (
                replace(b, probe_until=None, updated_at=now)
                if b is not None and b.state == HALF_OPEN
                else None
            ),
        )

    async def peek(self, endpoints: list[str]) -> dict[str, BreakerRecord]:
        """The breakers of ``endpoints`` as they are now (for ``explain``), changing nothing."""
        if self._store is None:
            return {e: self._memory[e] for e in endpoints if e in self._memory}
        async with self._store.transaction() as tx:
            return {b.endpoint: b for b in await tx.breakers(endpoints)}

    async def _update(
        self, c: Candidate, change: Callable[[BreakerRecord | None, float], BreakerRecord | None]
    ) -> None:
        now = self._clock()
        if self._store is None:
            new = change(self._memory.get(c.endpoint), now)
            if new is not None:
                self._memory[c.endpoint] = new
            return
        async with self._store.transaction() as tx:
            new = change(await tx.lock_breaker(c.endpoint, now), now)
            if new is not None:
                await tx.put_breaker(new)
