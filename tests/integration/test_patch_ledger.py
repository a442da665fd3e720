"""The patch ledger on both databases: propose, scope, moves, events, prefixes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runwright.errors import NotFoundError, PatchError
from runwright.patches import ledger
from runwright.patches.scope import Scope, allowed
from runwright.patches.states import PatchState
from runwright.repo.diff import Diff
from runwright.store import open_store
from runwright.store.base import Store

DIFF = Diff(
    "diff --git a/src/a.py b/src/a.py\n--- a/src/a.py\n+++ b/src/a.py\n@@ -1 +1,2 @@\n x\n+y\n",
    ("src/a.py",),
    1,
    0,
)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = open_store(db_url)
    try:
        yield s
    finally:
        await s.close()


async def _propose(store: Store, diff: Diff = DIFF, scope: Scope | None = None, attempt: int = 1):  # type: ignore[no-untyped-def]
    return await ledger.propose(
        store,
        run_id="r1",
        step_id="implement",
        item=None,
        attempt=attempt,
        attempt_id=None,
        agent="aider",
        repo=Path("/repo"),
        base="b" * 40,
        branch="runwright/r1/implement/1",
        diff=diff,
        scope=scope,
    )


async def test_a_patch_moves_through_its_states_each_move_an_event(store: Store) -> None:
    p = await _propose(store)
    assert p.state == "proposed" and p.files == ("src/a.py",) and (p.added, p.removed) == (1, 0)
    assert await ledger.diff_text(store, p.id[:8]) == DIFF.text
    again = await _propose(store, attempt=2)  # the same change on the same base
    assert again.id == p.id and again.attempt == 1
    await ledger.transition(store, p.id, PatchState.VALIDATED, reason="gate passed")
    await ledger.transition(store, p.id[:6], PatchState.APPLIED, by="ana", applied_branch="main")
    done = await ledger.get(store, p.id)
    assert (done.state, done.applied_branch) == ("applied", "main")
    with pytest.raises(PatchError, match="is applied; it cannot become validated"):
        await ledger.transition(store, p.id, PatchState.VALIDATED)
    events = await store.events("r1", limit=100)
    assert [e.type for e in events] == ["patch.proposed", "patch.transition", "patch.transition"]
    assert [(e.data["from"], e.data["to"], e.data["by"]) for e in events[1:]] == [
        ("proposed", "validated", None),
        ("validated", "applied", "ana"),
    ]
    assert all(e.step_id == "implement" and e.attempt == 1 for e in events)
    assert "diff --git" not in str([e.data for e in events])  # diffs stay in blobs


async def test_out_of_scope_patches_are_recorded_and_rejected(store: Store) -> None:
    wide = Diff("diff --git a/x b/x\n", ("src/a.py", "secrets.txt", "docs/x.md"), 30, 5)
    p = await _propose(store, wide, Scope(write=("src/**", "docs/"), max_lines_changed=20))
    assert p.state == "rejected"
    assert p.reason == (
        "scope: touches secrets.txt, outside write: [src/**, docs/]; changes 35 lines "
        "(+30 -5), more than max_lines_changed: 20"
    )
    assert [x.id for x in await ledger.patches(store, state="rejected")] == [p.id]
    assert await ledger.patches(store, state="proposed") == []


async def test_unknown_and_ambiguous_ids(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no patch 'abcdef' in the ledger"):
        await ledger.get(store, "abcdef")
    with pytest.raises(NotFoundError, match="too short"):
        await ledger.get(store, "ab")


def test_scope_globs_are_git_style() -> None:
    assert allowed("src/a.py", ("src/*",)) and not allowed("src/pkg/a.py", ("src/*",))
    assert allowed("src/pkg/a.py", ("src/**",)) and allowed("a.py", ("**/*.py",))
    assert allowed("docs/x/y.md", ("docs/",)) and not allowed("docsx/y.md", ("docs/",))
