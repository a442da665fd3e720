"""Step process groups that die with the process that runs them.

Two layers, because each misses what the other catches:

- A watchdog process per runner (:mod:`runwright.watchdog`), started with the
  first step: it holds the read end of a pipe and the list of live groups; when
  the pipe reaches end-of-file — the runner died, SIGKILL included — it
  SIGKILLs every group still registered (children and grandchildren alike) and
  exits.
- Each group is recorded in its attempt (:class:`ProcessGroup`), and a re-run
  (``resume``, lease expiry) kills what is left of it before acting
  (:mod:`runwright.engine.orphans`): that covers a watchdog that died too.

Not ``PR_SET_PDEATHSIG``: it reaches only the group's leader, never its
children, and setting it costs a ``preexec_fn``, which makes every spawn fork
the whole engine process and run Python in the child (measured: +20 ms per
shell step on a 4.5 ms step; through ``setpriv --pdeathsig`` +2.3 ms), while the
two layers above already cover the leader.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

_WATCHDOG = Path(__file__).with_name("watchdog.py")


@dataclass(frozen=True, slots=True)
class ProcessGroup:
    """Where a step's processes ran, precisely enough to find them again after a crash.

    ``start`` (the leader's start time in clock ticks since boot) and ``boot`` (the
    kernel's boot id) tell a live group from a later process that reused the number.
    """

    pgid: int
    host: str
    start: int | None
    boot: str | None

    def to_json(self) -> str:
        return json.dumps(
            {"pgid": self.pgid, "host": self.host, "start": self.start, "boot": self.boot}
        )

    @classmethod
    def from_json(cls, text: str) -> ProcessGroup:
        data: dict[str, Any] = json.loads(text)
        return cls(int(data["pgid"]), str(data["host"]), data.get("start"), data.get("boot"))

    @property
    def local(self) -> bool:
        """Whether the group ran on this machine (same host name, same boot)."""
        return self.host == socket.gethostname() and self.boot == boot_id()


def describe(pgid: int) -> ProcessGroup:
    """The record of a group this process just started (its leader is ``pgid``)."""
    return ProcessGroup(pgid, socket.gethostname(), start_time(pgid), boot_id())


@cache
def boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The fields after the parenthesised command name: state ppid pgrp ... starttime (20th).
    return stat[stat.rfind(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (None without /proc or the process)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def members(pgid: int) -> list[int]:
    """The live (not zombie) processes of group ``pgid``, read from /proc."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat_fields(entry.name)
        if fields and len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def live_groups() -> dict[int, list[int]]:
    """Every live (not zombie) process on this machine by process group, in one /proc scan.

    For checking many recorded groups at once (``runwright gc``), where :func:`members`
    per group would read all of /proc each time.
    """
    groups: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat_fields(entry.name)
        if fields and len(fields) > 2 and fields[0] != "Z":
            groups.setdefault(int(fields[2]), []).append(int(entry.name))
    return {pgid: sorted(pids) for pgid, pids in groups.items()}


def same_group(group: ProcessGroup) -> bool:
    """Whether group ``group.pgid`` on this machine is still the recorded one.

    A pid stays reserved while any process has it as its group id, so members
    under that id are ours unless the number now leads a *new* group, which shows
    as a leader with a different start time.
    """
    if not group.local:
        return False
    now = start_time(group.pgid)
    return now is None or group.start is None or now == group.start


# -- the watchdog ------------------------------------------------------------------------


class Watchdog:
    """This process's watchdog: told of every step group while it lives.

    One per process, started lazily; the messages are a few bytes on a pipe, so
    registering costs microseconds on the step's hot path.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = 0
        self._groups: dict[int, int | None] = {}

    def add(self, group: ProcessGroup) -> None:
        """Kill ``group`` if this process dies before :meth:`remove`."""
        with self._lock:
            self._groups[group.pgid] = group.start
            self._send(f"+ {group.pgid} {group.start or 0}\n")

    def remove(self, pgid: int) -> None:
        with self._lock:
            if pgid in self._groups:
                del self._groups[pgid]
                self._send(f"- {pgid}\n")

    @property
    def groups(self) -> list[int]:
        """The process groups registered now."""
        with self._lock:
            return list(self._groups)

    @property
    def pid(self) -> int | None:
        """The watchdog's pid, once started."""
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        """Stop watching: the watchdog kills what is still registered, and exits."""
        with self._lock:
            proc, self._proc = self._proc, None
            self._groups.clear()
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
            proc.wait()

    def _send(self, line: str) -> None:
        for _ in range(2):
            proc = self._ensure()
            assert proc.stdin is not None
            try:
                os.write(proc.stdin.fileno(), line.encode())
                return
            except BlockingIOError:
                # It stopped reading (SIGSTOP?): a full pipe must never block a step.
                proc.kill()
            except OSError:
                pass  # it died (killed by hand?)
            # Replace it with one that knows every live group.
            with contextlib.suppress(OSError):
                proc.stdin.close()
            proc.wait()
            self._proc = None

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None:
            if self._pid == os.getpid():
                return self._proc
            # A forked child: its parent's pipe and groups are not its own.
            if self._proc.stdin is not None:
                with contextlib.suppress(OSError):
                    os.close(self._proc.stdin.fileno())
            self._groups = {}
        self._pid = os.getpid()
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(_WATCHDOG)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            # Its own session: a Ctrl-C or a killpg aimed at the runner must not reach it.
            start_new_session=True,
        )
        assert self._proc.stdin is not None
        lines = "".join(f"+ {g} {s or 0}\n" for g, s in self._groups.items())
        if lines:
            os.write(self._proc.stdin.fileno(), lines.encode())
        os.set_blocking(self._proc.stdin.fileno(), False)
        return self._proc


_watchdog = Watchdog()


def watchdog() -> Watchdog:
    """This process's :class:`Watchdog`."""
    return _watchdog
