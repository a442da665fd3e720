"""The watchdog process: kills a dead runner's step process groups (see runwright.processes).

Run as ``python -I -S watchdog.py``: standard library only, so it starts in a few
milliseconds and imports nothing of the runner's environment. It reads lines
from stdin, the read end of a pipe whose only writer is the runner:

    + PGID START   a step group started (START: its leader's start time, 0 if unknown)
    - PGID         that group finished

At end-of-file — the runner exited or was killed — it SIGKILLs every group still
registered, and exits. A group whose number now leads a different process (its
leader's start time changed) is left alone.
"""

from __future__ import annotations

import os
import signal
import sys


def _start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:  # noqa: PTH123 - no pathlib: start-up time
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 else None


def kill_groups(groups: dict[int, int]) -> None:
    """SIGKILL each group whose leader is gone or is still the recorded process."""
    for pgid, start in groups.items():
        now = _start_time(pgid)
        if start and now is not None and now != start:
            continue  # the number was reused by a new process; ours is long gone
        try:  # noqa: SIM105 - contextlib is one more import to start
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def main() -> None:
    # Only the pipe's end decides: a terminal's Ctrl-C is the runner's business.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups: dict[int, int] = {}
    for line in sys.stdin.buffer:
        parts = line.split()
        try:
            if parts[:1] == [b"+"]:
                groups[int(parts[1])] = int(parts[2])
            elif parts[:1] == [b"-"]:
                groups.pop(int(parts[1]), None)
        except (IndexError, ValueError):
            continue
    kill_groups(groups)


if __name__ == "__main__":
    main()
