"""Signal handling, in one place: first Ctrl-C stops gracefully, the second at once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Protocol


class Stoppable(Protocol):
    def request_stop(self, *, immediate: bool) -> None: ...


@contextmanager
def interrupts(target: Stoppable, notify: Callable[[str], None]) -> Iterator[None]:
    """While active, SIGINT/SIGTERM ask ``target`` to stop (graceful, then immediate)."""
    loop = asyncio.get_running_loop()
    count = 0

    def handle() -> None:
        nonlocal count
        count += 1
        if count == 1:
            notify("stopping: letting running steps finish (press Ctrl-C again to stop now)")
            target.request_stop(immediate=False)
        else:
            notify("stopping now: cancelling running steps")
            target.request_stop(immediate=True)

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handle)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
