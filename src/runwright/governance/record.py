"""Each agent preset's record from the patch ledger, and whether it has earned a promotion.

Seed 004's graduation: after enough episodes, with a high gate pass rate and few
interventions, an agent is *proposed* for the next level. Promotion itself is a
person's explicit command (``runwright trust promote``), recorded in the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from runwright.config.trust import LEVELS, LevelName, TrustConfig
from runwright.errors import UsageError
from runwright.governance.levels import next_level
from runwright.spec.suggest import did_you_mean
from runwright.store.base import Store
from runwright.store.records_trust import PatchCounts, TrustGrant


@dataclass(frozen=True, slots=True)
class TrustRecord:
    """What the ledger says of one agent preset, its level and its next step."""

    counts: PatchCounts
    level: LevelName
    level_source: str
    next_level: LevelName | None
    #: Whether the record meets ``[trust.graduation]`` for ``next_level``.
    eligible: bool
    #: Why not (each criterion missed), empty when eligible.
    shortfalls: tuple[str, ...]

    @property
    def gated(self) -> int:
        return self.counts.passed + self.counts.failed_gate

    @property
    def pass_rate(self) -> float | None:
        return self.counts.passed / self.gated if self.gated else None

    @property
    def intervention_rate(self) -> float | None:
        c = self.counts
        return (c.rejected_by_person + c.rolled_back) / c.proposed if c.proposed else None

    def to_json(self) -> dict[str, Any]:
        c = self.counts
        return {
            "agent": c.agent,
            "level": self.level,
            "level_source": self.level_source,
            "patches": c.proposed,
            "gated": self.gated,
            "passed": c.passed,
            "failed_gate": c.failed_gate,
            "out_of_scope": c.out_of_scope,
            "rejected_by_person": c.rejected_by_person,
            "approvals": c.approvals,
            "applied": c.applied,
            "rolled_back": c.rolled_back,
            "conflicted": c.conflicted,
            "pass_rate": self.pass_rate,
            "intervention_rate": self.intervention_rate,
            "next_level": self.next_level,
            "eligible": self.eligible,
            "shortfalls": list(self.shortfalls),
        }


def assess(counts: PatchCounts, grants: list[TrustGrant], config: TrustConfig) -> TrustRecord:
    """One preset's record: its level (latest promotion, else the default) and graduation."""
    own = [g for g in grants if g.agent == counts.agent and g.level in LEVELS]
    if own:
        last = own[-1]
        level: LevelName = last.level  # type: ignore[assignment]
        source = f"promoted by {last.granted_by}"
    else:
        level, source = config.default, "[trust] default"
    up = next_level(level)
    g = config.graduation
    missing: list[str] = []
    record = TrustRecord(counts, level, source, up, False, ())
    if counts.proposed < g.episodes:
        missing.append(f"{counts.proposed} of {g.episodes} patches")
    rate = record.pass_rate
    if rate is None or rate < g.min_pass_rate:
        shown = "no gated patches" if rate is None else f"{rate:.0%}"
        missing.append(f"gate pass rate {shown} (needs {g.min_pass_rate:.0%})")
    interventions = record.intervention_rate
    if interventions is not None and interventions > g.max_intervention_rate:
        missing.append(
            f"intervention rate {interventions:.0%} (at most {g.max_intervention_rate:.0%})"
        )
    eligible = up is not None and not missing
    return TrustRecord(counts, level, source, up, eligible, tuple(missing))


async def trust_records(store: Store, config: TrustConfig) -> list[TrustRecord]:
    """The record of every agent preset that has patches in the ledger or a promotion."""
    async with store.transaction() as tx:
        counts = {c.agent: c for c in await tx.patch_counts()}
        grants = await tx.trust_grants()
    for g in grants:
        counts.setdefault(g.agent, PatchCounts(g.agent, 0, 0, 0, 0, 0, 0, 0, 0, ()))
    return [assess(counts[a], grants, config) for a in sorted(counts)]


async def promote(
    store: Store, agent: str, level: str, *, by: str, note: str | None = None
) -> TrustGrant:
    """Record a person's explicit promotion (or demotion) of ``agent`` to ``level``."""
    if level not in LEVELS:
        raise UsageError(
            f"unknown trust level {level!r}{did_you_mean(level, LEVELS)}; "
            f"use one of {', '.join(LEVELS)}"
        )
    if not agent.strip():
        raise UsageError("name the agent preset to promote, e.g. `runwright trust promote aider`")
    grant = TrustGrant(agent, level, by, note, time.time())
    async with store.transaction() as tx:
        await tx.add_trust_grant(grant)
    return grant
