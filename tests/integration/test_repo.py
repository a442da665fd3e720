"""runwright.repo on real git repositories: worktrees, snapshots, applying diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gittools import git, make_repo, state
from runwright.errors import GitError, PatchConflict
from runwright.repo.diff import apply_to_worktree, snapshot
from runwright.repo.git import resolve, toplevel
from runwright.repo.worktree import branch_name, create, list_worktrees, remove, worktree_root


async def test_a_worktree_leaves_the_users_checkout_alone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\n", "src/m.py": "x = 1\n"})
    (repo / "dirty.txt").write_text("the user's own work\n")  # untracked, uncommitted
    before = state(repo)
    branch = branch_name("run1", "implement", 1)
    wt = await create(repo, base="HEAD", branch=branch, name="run1-implement-1")
    assert wt.path == worktree_root(repo) / "run1-implement-1"
    assert wt.base == git(repo, "rev-parse", "HEAD").strip()
    (wt.path / "a.txt").write_text("two\n")
    (wt.path / "new.bin").write_bytes(b"\x00\x01\x02")
    git(wt.path, "rm", "-q", "src/m.py")
    diff = await snapshot(wt, "agent work")
    assert diff.files == ("a.txt", "new.bin", "src/m.py")
    assert (diff.added, diff.removed) == (1, 2)
    assert "GIT binary patch" in diff.text
    # The user's HEAD, branch and status (the .runwright dir is ignored) are unchanged.
    assert state(repo) == before
    assert (repo / "a.txt").read_text() == "one\n"
    assert "/.runwright/" in (repo / ".git" / "info" / "exclude").read_text()
    assert [w.path for w in await list_worktrees(repo)] == [wt.path]
    assert [w.branch for w in await list_worktrees(repo)] == [branch]


async def test_creating_again_resumes_and_remove_is_idempotent(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    wt = await create(repo, base="main", branch="runwright/r/s/1", name="n")
    (wt.path / "wip.txt").write_text("half done\n")
    again = await create(repo, base="main", branch="runwright/r/s/1", name="n")
    assert again.path == wt.path and (again.path / "wip.txt").exists()
    # Work the agent committed itself counts too.
    git(wt.path, "add", "-A")
    git(wt.path, "commit", "-q", "-m", "agent commit")
    (wt.path / "more.txt").write_text("after the commit\n")
    diff = await snapshot(again, "snapshot")
    assert diff.files == ("more.txt", "wip.txt")
    await remove(wt)
    await remove(wt)
    assert not wt.path.exists()
    assert "runwright/r/s/1" not in git(repo, "branch", "--list")
    assert await list_worktrees(repo) == []


async def test_a_tree_a_crash_left_half_made_is_made_again(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\n"})
    main = git(repo, "rev-parse", "main").strip()
    # Killed between registering the tree and checking it out: HEAD is right, no files.
    half = worktree_root(repo) / "half"
    git(repo, "worktree", "add", "-q", "--no-checkout", "-B", "runwright/r/h/1", str(half), "main")
    wt = await create(repo, base="main", branch="runwright/r/h/1", name="half")
    assert (wt.path / "a.txt").read_text() == "one\n" and wt.base == main
    assert git(wt.path, "status", "--porcelain") == ""
    # Killed while being recycled, after the switch and before the base was recorded:
    # the last agent's leftovers must not pass for this attempt's work.
    (wt.path / "leftover.txt").write_text("the previous agent's\n")
    (repo / ".git" / "worktrees" / "half" / "runwright-base").unlink()
    again = await create(repo, base="main", branch="runwright/r/h/1", name="half")
    assert not (again.path / "leftover.txt").exists() and again.base == main
    assert (again.path / "a.txt").read_text() == "one\n"


async def test_recycling_cleans_the_tree_and_moves_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {".gitignore": "out/\n", "a.txt": "one\n"})
    old = await create(repo, base="main", branch="runwright/r/a/1", name="old")
    (old.path / "a.txt").write_text("changed\n")
    (old.path / "out").mkdir()
    (old.path / "out" / "ignored.o").write_text("obj\n")
    (old.path / "untracked.txt").write_text("u\n")
    await snapshot(old, "agent work")
    (repo / "b.txt").write_text("two\n")
    git(repo, "add", "b.txt")
    git(repo, "commit", "-q", "-m", "b")
    new = await create(
        repo, base="main", branch="runwright/r/b/1", name="new", reuse=["gone", "old"]
    )
    assert not old.path.exists() and new.path == worktree_root(repo) / "new"
    files = sorted(str(p.relative_to(new.path)) for p in new.path.rglob("*") if p.is_file())
    assert files == [".git", ".gitignore", "a.txt", "b.txt"]
    assert (new.path / "a.txt").read_text() == "one\n"
    assert git(new.path, "status", "--porcelain", "--ignored") == ""
    assert new.base == git(repo, "rev-parse", "main").strip()
    assert git(new.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "runwright/r/b/1"
    assert [w.path for w in await list_worktrees(repo)] == [new.path]
    # The old attempt's work is still on its branch.
    assert git(repo, "show", "runwright/r/a/1:untracked.txt") == "u\n"


async def test_an_empty_snapshot_and_excluded_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    wt = await create(repo, base="HEAD", branch="runwright/r/s/2", name="m")
    (wt.path / "CLAUDE.md").write_text("instructions\n")
    diff = await snapshot(wt, "nothing", exclude=("CLAUDE.md",))
    assert diff.empty and diff.files == ()


async def test_applying_a_diff_and_a_conflict(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\ntwo\nthree\n"})
    first = await create(repo, base="HEAD", branch="runwright/r/a/1", name="a")
    (first.path / "a.txt").write_text("one\nTWO\nthree\n")
    diff = await snapshot(first, "edit")
    fresh = await create(repo, base=first.base, branch="runwright/r/g/1", name="g")
    await apply_to_worktree(fresh, diff.text)
    assert (fresh.path / "a.txt").read_text() == "one\nTWO\nthree\n"
    # On a base where the line changed differently, it conflicts and names the file.
    (repo / "a.txt").write_text("one\n2\nthree\n")
    git(repo, "commit", "-q", "-am", "other change")
    other = await create(repo, base="HEAD", branch="runwright/r/g/2", name="g2")
    with pytest.raises(PatchConflict) as info:
        await apply_to_worktree(other, diff.text)
    assert info.value.fields["files"] == ["a.txt"]
    assert "a.txt" in str(info.value)


async def test_errors_name_what_is_wrong(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError, match="is not inside a git repository"):
        await toplevel(plain)
    repo = make_repo(tmp_path / "r")
    assert await toplevel(repo / "README.md") == repo
    with pytest.raises(GitError, match="'nope' is not a commit"):
        await resolve(repo, "nope")


async def test_a_leaky_environment_and_a_staged_index_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "one\n"})
    (repo / "a.txt").write_text("staged by the user\n")
    git(repo, "add", "a.txt")  # in the user's index, not committed
    other = make_repo(tmp_path / "other")
    others = state(other)
    before = state(repo)
    # A hook or a parent git process would leave these behind: none may redirect us.
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "bogus-index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    wt = await create(repo, base="HEAD", branch="runwright/r/s/3", name="leaky")
    (wt.path / "b.txt").write_text("agent\n")
    diff = await snapshot(wt, "agent work")
    assert diff.files == ("b.txt",)
    await remove(wt)
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert state(repo) == before and " M" not in before[2] and "M  a.txt" in before[2]
    assert state(other) == others
    assert not (tmp_path / "bogus-index").exists()
