"""The patch ledger's records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PatchRecord:
    """One entry of the ledger: an attempt's diff against its base, and where it is now."""

    id: str
    run_id: str
    step_id: str
    item: int
    attempt: int
    attempt_id: int | None
    agent: str | None
    repo: str
    base: str
    branch: str | None
    files: tuple[str, ...]
    added: int
    removed: int
    diff_blob: str
    state: str
    reason: str | None
    applied_branch: str | None
    applied_commit: str | None
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "step_id": self.step_id,
            "item": None if self.item < 0 else self.item,
            "attempt": self.attempt,
            "agent": self.agent,
            "repo": self.repo,
            "base": self.base,
            "branch": self.branch,
            "files": list(self.files),
            "added": self.added,
            "removed": self.removed,
            "state": self.state,
            "reason": self.reason,
            "applied_branch": self.applied_branch,
            "applied_commit": self.applied_commit,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


PATCH_COLUMNS = (
    "id, run_id, step_id, item, attempt, attempt_id, agent, repo, base, branch, files, added,"
    " removed, diff_blob, state, reason, applied_branch, applied_commit, created_at, updated_at"
)


def patch_from_row(r: Any) -> PatchRecord:
    return PatchRecord(
        str(r[0]),
        str(r[1]),
        str(r[2]),
        int(r[3]),
        int(r[4]),
        None if r[5] is None else int(r[5]),
        r[6],
        str(r[7]),
        str(r[8]),
        r[9],
        tuple(json.loads(r[10])),
        int(r[11]),
        int(r[12]),
        str(r[13]),
        str(r[14]),
        r[15],
        r[16],
        r[17],
        float(r[18]),
        float(r[19]),
    )
