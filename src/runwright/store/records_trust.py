"""Records of trust levels: promotions, and what the ledger says of each agent preset."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TrustGrant:
    """A person's explicit promotion (or demotion) of an agent preset."""

    agent: str
    level: str
    granted_by: str
    note: str | None
    ts: float

    def to_json(self) -> dict[str, object]:
        return {
            "agent": self.agent,
            "level": self.level,
            "by": self.granted_by,
            "note": self.note,
            "ts": self.ts,
        }


@dataclass(frozen=True, slots=True)
class PatchCounts:
    """One agent preset's patches by state, and by why they were rejected."""

    agent: str
    proposed: int
    passed: int
    failed_gate: int
    out_of_scope: int
    rejected_by_person: int
    applied: int
    rolled_back: int
    conflicted: int
    runs: tuple[str, ...]
    #: Approvals a person granted in the runs the agent worked in.
    approvals: int = 0
