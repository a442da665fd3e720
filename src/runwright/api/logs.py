"""Reading step logs: every chunk so far, or following a running step live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from runwright.api.outputs import find_step
from runwright.states import RunStatus
from runwright.store.base import Store
from runwright.store.records import LogChunk

#: Seconds between looks for new chunks while following (as `tail --follow`).
FOLLOW_POLL = 0.2
_PAGE = 500


async def read_logs(
    store: Store,
    run_id: str,
    *,
    step_id: str | None = None,
    item: int | None = None,
    follow: bool = False,
    poll: float = FOLLOW_POLL,
) -> AsyncIterator[LogChunk]:
    """A run's log chunks in commit order (one step's with ``step_id``).

    With ``follow``, keeps yielding new chunks until the run finishes or waits
    for an approval; chunks committed just before that are still yielded.
    """
    if step_id is not None:
        run = (await find_step(store, run_id, step_id)).run
    else:
        run = await store.get_run(run_id)
    after = 0
    ended = False
    while True:
        batch = await store.logs(run.id, after=after, limit=_PAGE, step_id=step_id, item=item)
        for chunk in batch:
            yield chunk
        if batch:
            after = batch[-1].id or after
            continue
        if not follow or ended:
            return
        status = await store.run_status(run.id)
        # One more pass after the end: chunks committed before the run's last commit
        # may have landed after the read above.
        if status.finished or status is RunStatus.WAITING:
            ended = True
            continue
        await asyncio.sleep(poll)
