"""Where a synchronous python step's function runs: a thread, or the event loop once proven quick.

A thread keeps a blocking function from stalling the other steps, the heartbeats
and the timeouts of the loop. But the hop there and back (``run_in_executor``:
a futex wake-up, then the loop's self-pipe) cost 0.39 ms of a trivial durable
step's 0.79 ms on the 2-core machine. So a function that has run quickly
:data:`PROOF_RUNS` times in a row in a thread runs on the loop from then on; one
run on the loop longer than :data:`DEMOTE_S` sends it back to threads for good.
The worst case is one stall of the loop, by a function that was quick until then.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

#: A run in a thread this short counts towards running on the loop.
FAST_S = 0.005
#: Consecutive quick runs in a thread before the function runs on the loop.
PROOF_RUNS = 3
#: A run on the loop longer than this: back to threads, for good.
DEMOTE_S = 0.02


@dataclass(slots=True)
class Placement:
    """What one function has shown so far (shared by every step calling it)."""

    quick_runs: int = 0
    #: Ran too long on the loop once: threads only from now on.
    demoted: bool = False

    @property
    def on_loop(self) -> bool:
        return not self.demoted and self.quick_runs >= PROOF_RUNS

    async def call(self, func: Callable[[], Any]) -> Any:
        """Call ``func`` where it belongs; record how long it took."""
        if self.on_loop:
            started = time.perf_counter()
            try:
                # Its own copy of the context, as in a thread: a contextvar it sets
                # stays its own and does not leak into the engine's task.
                return contextvars.copy_context().run(func)
            finally:
                if time.perf_counter() - started > DEMOTE_S:
                    self.demoted = True
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, partial(self._timed, func))

    def _timed(self, func: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return func()
        finally:
            # Steps of one function may overlap in several threads: a lost update
            # only delays (or resets) the count, never misplaces a slow function.
            quick = time.perf_counter() - started < FAST_S
            self.quick_runs = self.quick_runs + 1 if quick else 0
