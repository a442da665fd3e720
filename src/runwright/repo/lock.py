"""One lock per repository for changing its worktrees, across tasks and processes.

``git worktree add`` registers a worktree in ``.git/worktrees/NAME/`` in several
writes, and ``git worktree prune`` (or ``remove``) run meanwhile reads a half-made
entry and fails (``fatal: failed to read .git/worktrees/NAME/commondir``) or deletes
it. Eight agents starting at once, or a worker's gc beside a running step, did
exactly that. The lock is an ``flock`` on a file in the repository's common git
directory, so workers on one machine exclude each other; in a process an
:class:`asyncio.Lock` per repository comes first, so at most one thread of the
process ever blocks on the file.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

_FILE = "runwright-worktrees.lock"
#: Per event loop (an asyncio.Lock belongs to the loop it first waited on; tests and
#: ``asyncio.run`` callers make several loops in one process).
_in_process: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def worktrees_locked(common_dir: Path) -> AsyncIterator[None]:
    """Hold the worktree lock of the repository whose common git dir is ``common_dir``."""
    key = common_dir.resolve()
    locks = _in_process.setdefault(asyncio.get_running_loop(), {})
    local = locks.setdefault(key, asyncio.Lock())
    async with local:
        fd = os.open(key / _FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # Another process holds it: wait in a thread, not on the event loop.
                await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def in_use_file(worktree: Path) -> Path:
    """The file :func:`in_use` locks for ``worktree`` (beside it; gc removes leftovers)."""
    return worktree.parent / f"{worktree.name}.lock"


@asynccontextmanager
async def in_use(worktree: Path) -> AsyncIterator[None]:
    """Mark a short-lived worktree (a patch apply's scratch tree) as in use while held.

    Taken before the worktree exists and released after it is gone, so gc, which
    removes a scratch tree only when :func:`abandoned` says so, never takes one in use;
    a process killed with it held releases it (the kernel drops the flock).
    """
    path = in_use_file(worktree)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a fresh name: never contended but by gc's probe
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def abandoned(worktree: Path) -> bool:
    """Whether no live process holds :func:`in_use` for ``worktree``."""
    path = in_use_file(worktree)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True
