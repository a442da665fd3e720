"""What an agent run leaves on disk beside its worktree, so a crash never runs it twice.

Two small JSON files in the worktree root (``.runwright/worktrees/``), next to
the worktree of the attempt, never inside it (so never in a patch):

- ``NAME.started.json`` when the agent starts: the session it continues;
- ``NAME.result.json`` the moment it exits: exit code and (masked) output.

An attempt that re-runs after a crash and finds the result records it without
running the agent again; one that finds only the start knows which session to
continue. Both are written atomically (temp file, fsync, rename).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runwright.agents.process import Finished

_VERSION = 1


@dataclass(frozen=True, slots=True)
class Paths:
    """The files of one attempt's agent run."""

    root: Path
    name: str

    @property
    def started(self) -> Path:
        return self.root / f"{self.name}.started.json"

    @property
    def result(self) -> Path:
        return self.root / f"{self.name}.result.json"

    @property
    def prompt(self) -> Path:
        return self.root / f"{self.name}.prompt.txt"

    @property
    def instructions(self) -> Path:
        return self.root / f"{self.name}.instructions.md"

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file an agent run may leave beside its worktree."""
        return (self.started, self.result, self.prompt, self.instructions)


def remove(root: Path, name: str) -> list[Path]:
    """Delete the files an agent run left beside worktree ``name`` (for gc); those removed.

    Call it with the worktree itself: once a worktree is gone, nothing can recover from
    its result, and a later attempt must not find a stale one.
    """
    removed = []
    for path in Paths(root, name).files:
        if path.exists():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically and durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when absent or unreadable (a torn write)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) and value.get("version") == _VERSION else None


def record_start(paths: Paths, *, agent: str, session: str | None) -> None:
    write_json(
        paths.started,
        {"version": _VERSION, "agent": agent, "session": session, "started_at": time.time()},
    )


def record_result(paths: Paths, *, agent: str, finished: Finished) -> None:
    write_json(
        paths.result,
        {
            "version": _VERSION,
            "agent": agent,
            "exit_code": finished.exit_code,
            "stdout": finished.stdout,
            "stderr": finished.stderr,
            "duration_s": finished.duration_s,
            "finished_at": time.time(),
        },
    )


def load_result(paths: Paths) -> Finished | None:
    """The finished run recorded at ``paths``, if the agent got that far."""
    data = read_json(paths.result)
    if data is None:
        return None
    return Finished(
        exit_code=int(data["exit_code"]),
        stdout=str(data.get("stdout", "")),
        stderr=str(data.get("stderr", "")),
        duration_s=float(data.get("duration_s", 0.0)),
    )


def started_session(paths: Paths) -> str | None:
    """The session the run recorded at ``paths`` continued, if any."""
    data = read_json(paths.started)
    session = data.get("session") if data else None
    return session if isinstance(session, str) and session else None
