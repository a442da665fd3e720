"""Applying and rolling back patches on real repositories, the ledger on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gittools import git, make_repo, state
from patchtools import FILES, FIXED, agent_patch, leftovers
from runwright.errors import DirtyCheckout, PatchConflict, PatchError
from runwright.patches import ledger
from runwright.patches.apply import apply_patch, rollback_patch
from runwright.repo.worktree import create, list_worktrees
from runwright.store import open_store
from runwright.store.base import Store


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = open_store(db_url)
    try:
        yield s
    finally:
        await s.close()


async def test_apply_to_the_checked_out_branch_updates_it_and_records_the_commit(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    tip = git(repo, "rev-parse", "HEAD").strip()
    (repo / "notes.txt").write_text("untracked work of the user\n")  # does not block
    p = await agent_patch(store, repo, {"calc.py": FIXED, "img.bin": b"\x89PNG\x00\x01"})
    done = await apply_patch(store, p.id[:8], by="ana")
    assert (done.state, done.applied_branch) == ("applied", "main")
    head, branch, status = state(repo)
    assert (head, branch, status) == (done.applied_commit, "main", "?? notes.txt\n")
    assert (repo / "calc.py").read_text() == FIXED
    assert (repo / "img.bin").read_bytes() == b"\x89PNG\x00\x01"
    assert git(repo, "rev-parse", "HEAD^").strip() == tip
    assert f"Runwright-Patch: {p.id}" in git(repo, "log", "-1", "--format=%B")
    assert leftovers(repo) == []
    moves = [e.data for e in await store.events("r1", limit=50) if e.type == "patch.transition"]
    assert [(m["to"], m["by"]) for m in moves] == [("validated", None), ("applied", "ana")]


async def test_apply_to_another_branch_leaves_the_users_checkout_alone(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    git(repo, "branch", "release")
    (repo / "README.md").write_text("the user is editing this\n")  # dirty, but not the target
    before = state(repo)
    p = await agent_patch(store, repo, {"calc.py": FIXED})
    done = await apply_patch(store, p.id, branch="release")
    assert state(repo) == before
    assert git(repo, "rev-parse", "release").strip() == done.applied_commit
    assert git(repo, "show", "release:calc.py") == FIXED
    assert (repo / "calc.py").read_text() == FILES["calc.py"]


async def test_a_three_way_merge_keeps_changes_made_on_the_branch_since_the_base(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "r", {**FILES, "other.txt": "1\n2\n3\n4\n5\n6\n"})
    p = await agent_patch(store, repo, {"other.txt": "1\n2\n3\n4\n5\nsix\n"})
    (repo / "other.txt").write_text("one\n2\n3\n4\n5\n6\n")
    git(repo, "commit", "-qam", "the user's own change")
    done = await apply_patch(store, p.id)
    assert (repo / "other.txt").read_text() == "one\n2\n3\n4\n5\nsix\n"
    assert done.base != git(repo, "rev-parse", "HEAD^").strip()  # merged onto the new tip


async def test_a_conflict_marks_the_patch_conflicted_and_changes_nothing(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    p = await agent_patch(store, repo, {"calc.py": FIXED, "new.txt": "fine\n"})
    (repo / "calc.py").write_text("def add(a, b):\n    return sum((a, b))\n")
    git(repo, "commit", "-qam", "a different fix")
    before = state(repo)
    conflict = r"does not apply to main: conflicts .* in calc\.py"
    with pytest.raises(PatchConflict, match=conflict) as e:
        await apply_patch(store, p.id)
    assert e.value.fields["files"] == ["calc.py"]
    assert "--diff | git apply --3way" in str(e.value)
    assert state(repo) == before
    assert leftovers(repo) == []
    conflicted = await ledger.get(store, p.id)
    assert conflicted.state == "conflicted" and "calc.py" in (conflicted.reason or "")
    # Once the branch no longer conflicts, a conflicted patch may be applied after all.
    git(repo, "revert", "--no-edit", "HEAD")
    assert (await apply_patch(store, p.id)).state == "applied"


async def test_a_checked_out_branch_with_uncommitted_changes_is_refused(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    p = await agent_patch(store, repo, {"calc.py": FIXED})
    (repo / "README.md").write_text("unsaved work\n")
    before = state(repo)
    with pytest.raises(DirtyCheckout, match=r"branch main is checked out in .*\(README\.md\)"):
        await apply_patch(store, p.id)
    assert state(repo) == before and (repo / "README.md").read_text() == "unsaved work\n"
    assert (await ledger.get(store, p.id)).state == "validated"
    assert leftovers(repo) == []


async def test_only_validated_or_accepted_patches_apply(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    p = await agent_patch(store, repo, {"calc.py": FIXED}, validate=False)
    with pytest.raises(PatchError, match=r"is proposed, so it cannot be applied: .*--accept"):
        await apply_patch(store, p.id)
    done = await apply_patch(store, p.id, accept=True, by="ana")
    assert done.state == "applied"
    with pytest.raises(PatchError, match=r"already on main as [0-9a-f]{12}"):
        await apply_patch(store, p.id)
    with pytest.raises(PatchError, match="'nope' does not exist"):
        other = await agent_patch(store, repo, {"README.md": "x\n"}, attempt=2)
        await apply_patch(store, other.id, branch="nope")


async def test_rollback_reverts_the_applied_commit(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    p = await agent_patch(store, repo, {"calc.py": FIXED})
    applied = await apply_patch(store, p.id)
    (repo / "README.md").write_text("calc, fixed\n")
    git(repo, "commit", "-qam", "later, unrelated")
    back = await rollback_patch(store, p.id[:10], by="ana")
    assert back.state == "rolled_back" and "reverted by" in (back.reason or "")
    assert (repo / "calc.py").read_text() == FILES["calc.py"]
    assert (repo / "README.md").read_text() == "calc, fixed\n"  # later work kept
    assert state(repo)[2] == ""
    assert f"This reverts commit {applied.applied_commit}" in git(repo, "log", "-1", "--format=%B")
    with pytest.raises(PatchError, match="is rolled_back; only an applied patch"):
        await rollback_patch(store, p.id)


async def test_a_rollback_that_conflicts_with_later_work_keeps_the_patch_applied(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    p = await agent_patch(store, repo, {"calc.py": FIXED})
    await apply_patch(store, p.id)
    (repo / "calc.py").write_text("def add(a, b):\n    return b + a\n")
    git(repo, "commit", "-qam", "builds on the fix")
    before = state(repo)
    with pytest.raises(PatchConflict, match=r"later commits on main change calc\.py"):
        await rollback_patch(store, p.id)
    assert state(repo) == before and (await ledger.get(store, p.id)).state == "applied"
    assert leftovers(repo) == []


async def test_an_apply_the_ledger_missed_is_found_not_repeated(tmp_path: Path) -> None:
    """The branch moved but the ledger never heard (runwright died in between)."""
    repo = make_repo(tmp_path / "r", FILES)
    first = open_store(str(tmp_path / "one.db"))
    second = open_store(str(tmp_path / "two.db"))
    try:
        p = await agent_patch(first, repo, {"calc.py": FIXED})
        applied = await apply_patch(first, p.id)
        same = await agent_patch(second, repo, {"calc.py": FIXED}, base=p.base)
        assert same.id == p.id
        found = await apply_patch(second, p.id)
        assert found.applied_commit == applied.applied_commit
        assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"  # no second commit
        assert "found on main" in (found.reason or "")
    finally:
        await first.close()
        await second.close()


async def test_agent_worktrees_survive_an_apply(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    keep = await create(repo, base="main", branch="runwright/r9/s/1", name="r9-s-1")
    p = await agent_patch(store, repo, {"calc.py": FIXED})
    await apply_patch(store, p.id)
    assert [w.path for w in await list_worktrees(repo)] == [keep.path]


async def test_an_untracked_file_the_patch_would_overwrite_is_kept(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    p = await agent_patch(store, repo, {"new.py": "print('agent')\n"})
    (repo / "new.py").write_text("the user's own new.py\n")  # untracked
    before = state(repo)
    with pytest.raises(PatchError, match=r"would overwrite the untracked new\.py") as e:
        await apply_patch(store, p.id)
    assert "move or remove it, then run it again" in str(e.value)
    assert (e.value.fields["patch"], e.value.fields["files"]) == (p.id, ["new.py"])
    assert state(repo) == before and leftovers(repo) == []
    assert (repo / "new.py").read_text() == "the user's own new.py\n"
    assert (await ledger.get(store, p.id)).state == "validated"  # nothing happened: retry later
    (repo / "new.py").unlink()
    done = await apply_patch(store, p.id)
    assert (repo / "new.py").read_text() == "print('agent')\n"
    assert git(repo, "rev-parse", "HEAD").strip() == done.applied_commit
