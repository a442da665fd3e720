"""Scope constraints: which files a patch may touch, and how much it may change."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from runwright.repo.diff import Diff


@dataclass(frozen=True, slots=True)
class Scope:
    """``scope: {write: [globs], max_lines_changed: N}`` of an agent step."""

    write: tuple[str, ...] = ()
    max_lines_changed: int | None = None

    @classmethod
    def parse(cls, raw: Any) -> Scope | None:
        """From the step's ``with.scope`` (``None``: no constraint)."""
        if raw is None:
            return None
        if not isinstance(raw, dict) or set(raw) - {"write", "max_lines_changed"}:
            raise ValueError("scope must be {write: [globs], max_lines_changed: N}")
        write = raw.get("write") or ()
        if isinstance(write, str):
            write = (write,)
        limit = raw.get("max_lines_changed")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise ValueError("scope.max_lines_changed must be a whole number >= 0")
        return cls(tuple(str(g) for g in write), limit)

    def to_json(self) -> dict[str, Any]:
        return {"write": list(self.write), "max_lines_changed": self.max_lines_changed}


@functools.lru_cache(maxsize=256)
def _compile(glob: str) -> re.Pattern[str]:
    # Git-style globs: `*` and `?` stay within a directory, `**` spans any depth
    # (`**/` also matches no directory), and `dir/` means everything under dir.
    if glob.endswith("/"):
        glob += "**"
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))


def allowed(path: str, globs: tuple[str, ...]) -> bool:
    """Whether ``path`` matches one of ``globs`` (git-style: ``*`` within a directory)."""
    return any(_compile(g).fullmatch(path) for g in globs)


def violations(diff: Diff, scope: Scope) -> list[str]:
    """Why ``diff`` breaks ``scope``: one sentence per broken rule, naming files and counts."""
    found: list[str] = []
    if scope.write:
        outside = [f for f in diff.files if not allowed(f, scope.write)]
        if outside:
            globs = ", ".join(scope.write)
            found.append(f"touches {', '.join(outside)}, outside write: [{globs}]")
    changed = diff.added + diff.removed
    if scope.max_lines_changed is not None and changed > scope.max_lines_changed:
        found.append(
            f"changes {changed} lines (+{diff.added} -{diff.removed}), more than "
            f"max_lines_changed: {scope.max_lines_changed}"
        )
    return found
