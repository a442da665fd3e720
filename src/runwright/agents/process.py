"""One agent process: its own process group, its output streamed and kept, a timeout.

The process is started like a ``shell`` step's command (:mod:`runwright.steps.shell`):
leader of a new process group, registered with the watchdog (it dies with this
process) and recorded in the attempt before it goes on; output is masked,
streamed to the run's logs and kept (the tail, capped). A timeout or a
cancellation kills the whole group, and so does the agent's own exit: an agent
leaves nothing running behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runwright.errors import StepTimeout
from runwright.steps.base import StepContext
from runwright.steps.shell import (
    PIPE_GRACE,
    _group_alive,
    _signal_group,
    _spawn,
    _terminate_group,
)

#: Characters of the agent's last output line shown as the step's progress.
_PROGRESS_CHARS = 100


@dataclass(frozen=True, slots=True)
class Finished:
    """How the agent process ended and what it printed (masked)."""

    exit_code: int
    stdout: str
    stderr: str
    duration_s: float


class AgentTimeout(StepTimeout):
    """The agent ran past ``with.timeout``; its whole process group was killed."""


async def run_process(
    argv: tuple[str, ...],
    *,
    cwd: Path,
    env: Mapping[str, str],
    ctx: StepContext,
    stdin: Path | None = None,
    timeout: float | None = None,
) -> Finished:
    """Run ``argv`` to its end (or ``timeout`` seconds); kill its group afterwards."""
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        fh: IO[bytes] | None = stack.enter_context(stdin.open("rb")) if stdin else None
        if fh is None:
            transport, capture = await _spawn(argv, cwd=cwd, env=env, ctx=ctx)
        else:
            transport, capture = await _spawn(argv, cwd=cwd, env=env, ctx=ctx, stdin=fh)
    capture.attach(ctx.redactor, _logger(ctx))
    pgid = transport.get_pid()
    try:
        try:
            await asyncio.wait_for(asyncio.shield(capture.exited), timeout)
        except TimeoutError:
            await _terminate_group(pgid, capture)
            raise AgentTimeout(
                f"step '{ctx.step_id}': the agent ran longer than with.timeout ({timeout:g} s); "
                "its process group was killed. Raise with.timeout or give it less to do"
            ) from None
        if _group_alive(pgid):
            # What the agent left running in the background must not outlive it.
            _signal_group(pgid, signal.SIGKILL)
        try:
            await asyncio.wait_for(asyncio.shield(capture.closed), PIPE_GRACE)
        except TimeoutError:
            capture.note(2, "\n[runwright: a process outside the agent's group kept the pipes]\n")
    except asyncio.CancelledError:
        await _terminate_group(pgid, capture)
        raise
    finally:
        capture.finish()
        transport.close()
    code = transport.get_returncode()
    assert code is not None  # exited has resolved
    return Finished(
        exit_code=code,
        stdout=capture.stdout.text(),
        stderr=capture.stderr.text(),
        duration_s=round(time.monotonic() - started, 6),
    )


def _logger(ctx: StepContext) -> Callable[[str, str], None]:
    """Stream to the run's logs; with a live display, also show the agent's last line."""
    if not ctx.shows_progress:
        return ctx.log

    def log(stream: str, text: str) -> None:
        ctx.log(stream, text)
        last = text.rstrip().rsplit("\n", 1)[-1].strip()
        if last:
            ctx.progress(last[-_PROGRESS_CHARS:])

    return log
