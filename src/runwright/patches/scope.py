"""STAND-IN."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from runwright.repo.diff import Diff


@dataclass(frozen=True)
class Scope:
    write: tuple[str, ...] = ()
    max_lines_changed: int | None = None


def violations(diff: Diff, scope: Scope) -> list[str]:
    out = []
    if scope.write:
        bad = [f for f in diff.files if not any(fnmatch.fnmatch(f, g) for g in scope.write)]
        if bad:
            out.append("outside with.scope.write: " + ", ".join(bad))
    if scope.max_lines_changed is not None and diff.added + diff.removed > scope.max_lines_changed:
        out.append(f"{diff.added + diff.removed} lines changed > {scope.max_lines_changed}")
    return out
