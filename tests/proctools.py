"""Real processes by group and by parent; the orphan scenario shared by SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from clitools import wait_until
from runwright.store import open_store

#: A shell step that records its group, then blocks: attempt 1 for 30 s, later ones not at all.
#: Before acting, a later attempt writes the live members of attempt 1's group to ``alive``.
STEP = (
    'echo $$ >> pgids; echo start >> log; if [ "$RUNWRIGHT_ATTEMPT" = 1 ]; then sleep 30;'
    " else {python} {check} $(head -1 pgids) >> alive; fi; echo end >> log"
)

#: Prints the live (not zombie) members of the process group given as argv[1].
CHECK = """
import sys
from pathlib import Path

pgid = int(sys.argv[1])
for entry in Path("/proc").glob("[0-9]*"):
    try:
        stat = (entry / "stat").read_text()
    except OSError:
        continue
    fields = stat[stat.rfind(")") + 2 :].split()
    if int(fields[2]) == pgid and fields[0] != "Z":
        print(entry.name)
"""


def stat_fields(pid: int | str) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes whose process group is ``pgid``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = stat_fields(entry.name)
        if fields and int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = stat_fields(entry.name)
        if fields and int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def watchdog_of(pid: int) -> int | None:
    """The runwright watchdog process started by ``pid``, if any."""
    for child in children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"watchdog.py" in cmdline:
            return child
    return None


def alive(pid: int) -> bool:
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def kill_group(pgid: int) -> None:
    """Clean-up: never leave a test's processes behind."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def orphan_pipeline(tmp_path: Path) -> Path:
    (tmp_path / "check_group.py").write_text(CHECK)
    step = STEP.format(python=sys.executable, check=tmp_path / "check_group.py")
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: orphans\nsteps:\n  - id: work\n    uses: shell\n"
        f"    with:\n      run: {json.dumps(step)}\n"
    )
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


async def orphan_events(db: str, run_id: str) -> list[dict[str, Any]]:
    store = open_store(db)
    try:
        events = await store.events(run_id, types=["step.orphans_checked"])
    finally:
        await store.close()
    return [dict(e.data, attempt_of_event=e.attempt) for e in events]


async def run_status_of(db: str, run_id: str) -> str:
    store = open_store(db)
    try:
        return str((await store.get_run(run_id)).status)
    finally:
        await store.close()


def first_attempt_running(tmp_path: Path, db: str) -> int:
    """Wait until attempt 1 sleeps and its group is recorded; return the group.

    The command can write its marker before the runner has registered its group with
    the watchdog (a busy machine schedules the child first); the group is recorded in
    the attempt only after that registration, so killing the runner before it would
    test a moment the guarantee does not cover.
    """
    assert wait_until(lambda: _lines(tmp_path / "log") == ["start"], 60), _lines(tmp_path / "log")
    pgid = int(_lines(tmp_path / "pgids")[0])
    # The shell and its `sleep 30`.
    assert wait_until(lambda: len(group_members(pgid)) >= 2, 10), group_members(pgid)
    assert wait_until(lambda: asyncio.run(_recorded(db, pgid)), 30), "the group was never recorded"
    return pgid


async def _recorded(db: str, pgid: int) -> bool:
    store = open_store(db)
    try:
        async with store.transaction() as tx:
            rows = await tx.cursor.rows(  # type: ignore[attr-defined]
                "SELECT process FROM attempts WHERE process IS NOT NULL", ()
            )
    finally:
        await store.close()
    return any(json.loads(r[0]).get("pgid") == pgid for r in rows)


def kill_runner(proc: subprocess.Popen[Any], pgid: int, *, kill_watchdog: bool) -> None:
    watchdog = watchdog_of(proc.pid)
    assert watchdog is not None, "the runner started no watchdog"
    if kill_watchdog:
        os.kill(watchdog, signal.SIGKILL)
        assert wait_until(lambda: not alive(watchdog), 10)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    if kill_watchdog:
        # Nothing of the runner is left to stop the group: only the re-run's check can.
        assert len(group_members(pgid)) >= 2, "the group died without its watchdog"
    else:
        assert wait_until(lambda: not group_members(pgid), 10), group_members(pgid)
        assert wait_until(lambda: not alive(watchdog), 10), "the watchdog did not exit"


def assert_no_orphan_and_reported(
    tmp_path: Path, events: list[dict[str, Any]], pgid: int, *, kill_watchdog: bool
) -> None:
    # The second attempt restarted the step; the first attempt's `end` never came.
    assert _lines(tmp_path / "log") == ["start", "start", "end"]
    assert _lines(tmp_path / "alive") == [], "old processes were alive when attempt 2 started"
    assert group_members(pgid) == []
    assert len(events) == 1, events
    event = events[0]
    assert (event["attempt_of_event"], event["attempt"], event["pgid"]) == (2, 1, pgid)
    assert event["host"] == os.uname().nodename
    if kill_watchdog:
        assert event["outcome"] == "killed"
        assert event["found"] and event["signals"][0] == "SIGTERM"
    else:
        assert event["outcome"] == "gone"
