"""STAND-IN: no store writes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runwright.patches.scope import Scope, violations
from runwright.patches.states import PatchState
from runwright.repo.diff import Diff


@dataclass(frozen=True)
class PatchRecord:
    id: str
    state: PatchState
    reason: str | None


async def propose(
    store: Any,
    *,
    run_id: str,
    step_id: str,
    item: int | None,
    attempt: int,
    attempt_id: int | None,
    agent: str | None,
    repo: Path,
    branch: str | None,
    diff: Diff,
    scope: Scope | None = None,
) -> PatchRecord:
    pid = hashlib.sha256(diff.text.encode()).hexdigest()
    bad = violations(diff, scope) if scope else []
    if bad:
        return PatchRecord(pid, PatchState.REJECTED, "; ".join(bad))
    return PatchRecord(pid, PatchState.PROPOSED, None)
