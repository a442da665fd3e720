"""The watchdog process: a SIGKILLed runner's registered process groups die with it.

The runner here is a small Python process that starts a process group (a shell
and its background ``sleep``) and registers it with
``runwright.processes.watchdog()``; only the watchdog can kill that group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from clitools import wait_until
from proctools import alive, group_members, kill_group, watchdog_of
from runwright.processes import ProcessGroup, Watchdog

RUNNER = """
import subprocess, sys
from runwright import processes

mode = sys.argv[1]
proc = subprocess.Popen(["sh", "-c", "sleep 300 & wait"], start_new_session=True)
group = processes.describe(proc.pid)
if mode == "reused":  # as if the number now led a later process
    group = processes.ProcessGroup(group.pgid, group.host, (group.start or 0) + 1, group.boot)
processes.watchdog().add(group)
if mode == "removed":
    processes.watchdog().remove(proc.pid)
print(proc.pid, flush=True)
sys.stdin.read()  # until the test kills us, or closes stdin: then a clean exit
"""


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[list[tuple[subprocess.Popen[str], int]]]:
    started: list[tuple[subprocess.Popen[str], int]] = []
    yield started
    for proc, pgid in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        kill_group(pgid)


def _start(tmp_path: Path, started: list[tuple[subprocess.Popen[str], int]], mode: str) -> int:
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    proc = subprocess.Popen(
        [sys.executable, str(script), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    pgid = int(proc.stdout.readline())
    started.append((proc, pgid))
    assert wait_until(lambda: len(group_members(pgid)) == 2, 10), group_members(pgid)
    return pgid


def test_a_sigkilled_runners_groups_are_killed_and_the_watchdog_exits(
    tmp_path: Path, runner: list[tuple[subprocess.Popen[str], int]]
) -> None:
    pgid = _start(tmp_path, runner, "kill")
    proc = runner[0][0]
    watchdog = watchdog_of(proc.pid)
    assert watchdog is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert wait_until(lambda: not group_members(pgid), 10), group_members(pgid)
    assert wait_until(lambda: not alive(watchdog), 10), "the watchdog outlived its work"


def test_a_runner_that_exits_leaves_no_watchdog_and_its_groups_are_killed(
    tmp_path: Path, runner: list[tuple[subprocess.Popen[str], int]]
) -> None:
    # A clean exit with a group still registered (a step in flight) ends the same way.
    pgid = _start(tmp_path, runner, "exit")
    # Only once the group is up: exiting sooner raced its first member's start.
    proc = runner[0][0]
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(10) == 0
    assert wait_until(lambda: not group_members(pgid), 10), group_members(pgid)


@pytest.mark.parametrize("mode", ["removed", "reused"])
def test_a_finished_or_reused_group_is_left_alone(
    tmp_path: Path, runner: list[tuple[subprocess.Popen[str], int]], mode: str
) -> None:
    pgid = _start(tmp_path, runner, mode)
    proc = runner[0][0]
    watchdog = watchdog_of(proc.pid)
    assert watchdog is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert wait_until(lambda: not alive(watchdog), 10)
    assert len(group_members(pgid)) == 2  # the watchdog is done; the group lives on
    os.killpg(pgid, signal.SIGKILL)


def test_a_stopped_watchdog_never_blocks_the_runner_and_is_replaced() -> None:
    wd = Watchdog()
    try:
        wd.add(ProcessGroup(999_999, "h", 1, None))
        stopped = wd.pid
        assert stopped is not None
        os.kill(stopped, signal.SIGSTOP)
        # Far more than a pipe holds: each message is ~12 bytes, a pipe 64 KiB.
        for i in range(20_000):
            wd.add(ProcessGroup(1_000_000 + i, "h", 1, None))
            wd.remove(1_000_000 + i)
        assert wd.pid not in (None, stopped)
        assert not alive(stopped)
        assert wd.groups == [999_999]  # the replacement was told of what is still live
        wd.remove(999_999)
    finally:
        wd.close()
