"""``runwright trust``'s record of each agent, read from the patch ledger on both databases.

The counts come from one query over ``patches`` (reasons matched with LIKE patterns,
which once broke on PostgreSQL: a literal ``%`` is psycopg's placeholder) and the
approvals a person granted in the runs the agent worked in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from enginetools import Write, run, settings_for

from runwright.api import Session
from runwright.api import trust as trust_api
from runwright.patches import ledger
from runwright.patches.states import PatchState
from runwright.repo.diff import Diff
from runwright.settings import Settings
from runwright.states import RunStatus

SPEC = """
name: reviewed
steps:
  - id: review
    uses: approval
    with: {prompt: "apply it?"}
"""

#: (agent, final state, reason) of the patches proposed in the run.
PATCHES = [
    ("aider", PatchState.APPLIED, None),
    ("aider", PatchState.APPLIED, None),
    ("aider", PatchState.REJECTED, "gate failed: 1 of 1 commands failed"),
    ("aider", PatchState.ROLLED_BACK, "rolled back by ana"),
    ("codex", PatchState.REJECTED, "rejected by ana: not this way"),
]


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return settings_for(db_url, tmp_path)


async def test_the_record_counts_patches_by_outcome_and_the_approvals(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    result, _, _ = await run(settings, write("p.yaml", SPEC))
    assert result.status is RunStatus.WAITING
    async with Session(settings) as s:
        await s.decide(result.run_id, "review", approve=True, by="ana")
        for n, (agent, state, reason) in enumerate(PATCHES):
            text = f"diff --git a/f{n} b/f{n}\n+{n}\n"
            p = await ledger.propose(
                s.store,
                run_id=result.run_id,
                step_id="implement",
                item=None,
                attempt=n + 1,
                attempt_id=None,
                agent=agent,
                repo=tmp_path,
                base="b" * 40,
                branch=None,
                diff=Diff(text, (f"f{n}",), 1, 0),
            )
            path = {
                PatchState.APPLIED: [PatchState.VALIDATED, PatchState.APPLIED],
                PatchState.ROLLED_BACK: [
                    PatchState.VALIDATED,
                    PatchState.APPLIED,
                    PatchState.ROLLED_BACK,
                ],
                PatchState.REJECTED: [PatchState.REJECTED],
            }[state]
            for to in path:
                why = reason if to is state else None
                await ledger.transition(s.store, p.id, to, reason=why, by="test")
        records = {r.counts.agent: r.to_json() for r in await trust_api.records(s)}
    assert set(records) == {"aider", "codex"}
    aider, codex = records["aider"], records["codex"]
    assert (aider["patches"], aider["passed"], aider["failed_gate"]) == (4, 3, 1)
    assert (aider["applied"], aider["rolled_back"], aider["approvals"]) == (3, 1, 1)
    assert aider["pass_rate"] == pytest.approx(0.75)
    assert aider["intervention_rate"] == pytest.approx(0.25)  # the rollback
    assert (codex["patches"], codex["rejected_by_person"], codex["approvals"]) == (1, 1, 1)
    assert codex["pass_rate"] is None  # never gated
