"""Lease expiry: attempts whose worker went silent run again, elsewhere."""

from __future__ import annotations

import logging
import time

from runwright.engine.commit import attempt_event
from runwright.events import EventType, Level
from runwright.store.base import Store

log = logging.getLogger("runwright.worker")


async def reap(store: Store, *, lease_seconds: float) -> int:
    """Return expired attempts to ``ready`` (reason ``lease_expired``); mark silent workers lost.

    Any worker may call this; the conditional update lets exactly one reopen each
    attempt. Returns how many attempts were reopened.
    """
    now = time.time()
    async with store.transaction() as tx:
        expired = await tx.reap_expired(now)
        if expired:
            await tx.add_events(
                [
                    attempt_event(
                        a,
                        EventType.STEP_LEASE_EXPIRED,
                        {"worker_id": a.worker_id, "next_attempt": a.number + 1},
                        Level.WARNING,
                    )
                    for a in expired
                ]
            )
    for a in expired:
        log.warning(
            "lease of %s attempt %d (worker %s) expired; it will run again",
            a.step_id,
            a.number,
            a.worker_id,
            extra={"event": "attempt.lease_expired", "run_id": a.run_id},
        )
    lost = await store.mark_lost_workers(now=now, silent_for=lease_seconds)
    for worker_id in lost:
        log.warning("worker %s stopped heartbeating; marked lost", worker_id)
    return len(expired)
