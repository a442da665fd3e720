"""Riding out a lost database: back off, reconnect, try again, say what we wait for.

Every store call on the execution path goes through :func:`retrying` (a call
that is a whole transaction or a single statement) or :func:`transact` (a
transaction body): a lost connection is an outage to wait out, never a step's
failure. The unit retried is always a whole transaction, so a retry repeats
nothing that committed, except a COMMIT whose reply was lost; see
:func:`retrying` for how that case is fenced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from runwright.errors import StoreUnavailable
from runwright.store.base import Store, Transaction

T = TypeVar("T")
log = logging.getLogger("runwright.worker")
FIRST_DELAY = 0.1
MAX_DELAY = 5.0


async def retrying(store: Store, what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call`` until it does not raise :class:`StoreUnavailable`, backing off.

    ``call`` must be a whole transaction: one that failed mid-way rolled back. One
    whose COMMIT was in doubt may have landed; its retry then meets a state that
    moved on and is refused by fencing (IllegalTransition), never applied twice
    (or, where being refused would strand work, the retry checks first whether the
    first try landed: see :func:`runwright.engine.attempt.execute`).
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


async def transact(store: Store, what: str, body: Callable[[Transaction], Awaitable[T]]) -> T:
    """Run ``body`` in one transaction and commit; the whole of it again on a lost connection."""

    async def once() -> T:
        async with store.transaction() as tx:
            return await body(tx)

    return await retrying(store, what, once)
