"""Riding out a lost database: back off, reconnect, try again, say what we wait for."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from runwright.errors import StoreUnavailable
from runwright.store.base import Store

T = TypeVar("T")
log = logging.getLogger("runwright.worker")
FIRST_DELAY = 0.1
MAX_DELAY = 5.0


async def retrying(store: Store, what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call`` until it does not raise :class:`StoreUnavailable`, backing off.

    ``call`` must be a whole transaction: one that failed mid-way rolled back. One
    whose COMMIT was in doubt may have landed; its retry then meets a state that
    moved on and is refused by fencing (IllegalTransition), never applied twice.
    """
    delay = FIRST_DELAY
    waited = 0.0
    while True:
        try:
            return await call()
        except StoreUnavailable as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # The driver reports a cancelled query as a lost one; we were cancelled.
                raise asyncio.CancelledError from exc
            log.warning(
                "waiting for the database to %s: %s (retrying in %.1fs, waited %.1fs so far)",
                what,
                exc,
                delay,
                waited,
                extra={"event": "store.unavailable"},
            )
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, MAX_DELAY)
            await store.reset_connections()
