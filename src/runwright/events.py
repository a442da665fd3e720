"""Typed events: the append-only record of what happened in a run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    RUN_STARTED = "run.started"
    RUN_SUCCEEDED = "run.succeeded"
    RUN_FAILED = "run.failed"
    RUN_CANCELLED = "run.cancelled"
    RUN_RESUMED = "run.resumed"
    RUN_WAITING = "run.waiting"
    STEP_STARTED = "step.started"
    STEP_SUCCEEDED = "step.succeeded"
    STEP_FAILED = "step.failed"
    STEP_RETRYING = "step.retrying"
    STEP_SKIPPED = "step.skipped"
    STEP_WAITING = "step.waiting"
    STEP_LOG = "step.log"
    STEP_LEASE_EXPIRED = "step.lease_expired"
    #: ``on_fail``: the step failed and its work went back to an earlier step (feedback).
    STEP_SENT_BACK = "step.sent_back"
    CACHE_HIT = "cache.hit"
    CACHE_MISS = "cache.miss"
    FILE_WRITTEN = "file.written"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_GRANTED = "approval.granted"
    APPROVAL_REJECTED = "approval.rejected"
    #: Before a re-run acts: what was left of an abandoned attempt's process group.
    STEP_ORPHANS_CHECKED = "step.orphans_checked"
    LLM_REQUEST = "llm.request"
    LLM_RESPONSE = "llm.response"
    #: A model candidate was passed over (provider, model, reason, next candidate).
    LLM_FALLBACK = "llm.fallback"
    #: A coding agent started in its worktree (preset, branch, base, sandbox) / finished.
    AGENT_STARTED = "agent.started"
    AGENT_FINISHED = "agent.finished"
    #: A resumed agent attempt found the agent's finished result on disk: not run again.
    AGENT_RECOVERED = "agent.recovered"
    #: Patch ledger transitions (id, from, to, reason): proposed, validated, accepted,
    #: applied, rejected, conflicted, rolled_back.
    PATCH_PROPOSED = "patch.proposed"
    PATCH_TRANSITION = "patch.transition"
    GATE_PASSED = "gate.passed"
    GATE_FAILED = "gate.failed"
    #: Governance: every decision on what a step may do (allowed, denied, asked).
    GOVERNANCE_DECISION = "governance.decision"


class Level(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Level.DEBUG: 10, Level.INFO: 20, Level.WARNING: 30, Level.ERROR: 40}


@dataclass(frozen=True, slots=True)
class Event:
    """One event. ``seq`` is assigned by the store when the event is committed."""

    type: EventType
    run_id: str
    step_id: str | None = None
    attempt: int | None = None
    item: int | None = None
    level: Level = Level.INFO
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)
    seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "type": str(self.type),
            "level": str(self.level),
            "run_id": self.run_id,
            "step_id": self.step_id,
            "item": self.item,
            "attempt": self.attempt,
            "data": self.data,
        }
