"""runwright.repo against what users' repositories and configurations throw at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gittools import git, make_repo, state
from runwright.repo.diff import apply_to_worktree, snapshot
from runwright.repo.worktree import create, remove


def hostile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ~/.gitconfig that changes diff text, signs every commit (with a failing gpg)
    and runs a hook; from now on in this test."""
    home = tmp_path / "home"
    hooks = home / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "post-commit").write_text('#!/bin/sh\necho hook-ran >> "$HOME/hook.log"\n')
    (hooks / "post-commit").chmod(0o755)
    (home / ".gitconfig").write_text(
        "[diff]\n\tnoprefix = true\n\tmnemonicPrefix = true\n\trenames = copies\n"
        "\tcontext = 9\n\talgorithm = patience\n"
        "[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = false\n"
        f"[core]\n\thooksPath = {hooks}\n[color]\n\tdiff = always\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return home


async def test_diffs_ignore_the_users_git_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = "".join(f"line {n}\n" for n in range(30))
    repo = make_repo(tmp_path / "r", {"old_name.txt": lines, "keep.txt": "k\n"})
    home = hostile_home(tmp_path, monkeypatch)
    wt = await create(repo, base="HEAD", branch="runwright/r/s/1", name="a")
    git(wt.path, "mv", "old_name.txt", "new name.txt")
    (wt.path / "keep.txt").write_text("k\nmore\n")
    diff = await snapshot(wt, "agent work")  # commits despite gpgsign = true
    assert diff.files == ("keep.txt", "new name.txt", "old_name.txt")
    assert "diff --git a/keep.txt b/keep.txt" in diff.text and "\x1b[" not in diff.text
    assert "rename from" not in diff.text and "@@ -1 +1,2 @@" in diff.text
    assert not (home / "hook.log").exists()  # the user's hooks are not ours to run
    fresh = await create(repo, base="HEAD", branch="runwright/r/s/2", name="b")
    await apply_to_worktree(fresh, diff.text)
    assert (fresh.path / "new name.txt").read_text() == lines
    assert not (fresh.path / "old_name.txt").exists()
    await remove(wt)
    await remove(fresh)


async def test_text_that_is_not_utf8_survives_exactly(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"notes.txt": "plain\n"})
    (repo / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    git(repo, "add", "latin1.txt")
    git(repo, "commit", "-qm", "a latin-1 file")
    wt = await create(repo, base="HEAD", branch="runwright/r/s/1", name="a")
    changed = "crème brûlée\n".encode("latin-1")
    (wt.path / "latin1.txt").write_bytes(changed)
    (wt.path / "notes.txt").write_text("plain, still text\n")
    diff = await snapshot(wt, "agent work")
    assert "+plain, still text" in diff.text  # UTF-8 files stay readable text
    assert "GIT binary patch" in diff.text and "\ufffd" not in diff.text
    fresh = await create(repo, base="HEAD", branch="runwright/r/s/2", name="b")
    await apply_to_worktree(fresh, diff.text)
    assert (fresh.path / "latin1.txt").read_bytes() == changed


async def test_a_resumed_worktree_keeps_its_base_when_the_ref_moved(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.txt": "a\n"})
    first = await create(repo, base="main", branch="runwright/r/s/1", name="n")
    (first.path / "agent.txt").write_text("the agent's work\n")
    (repo / "user.txt").write_text("the user's new commit\n")
    git(repo, "add", "user.txt")
    git(repo, "commit", "-qm", "meanwhile")
    before = state(repo)
    resumed = await create(repo, base="main", branch="runwright/r/s/1", name="n")
    assert resumed.base == first.base != git(repo, "rev-parse", "main").strip()
    diff = await snapshot(resumed, "agent work")
    assert diff.files == ("agent.txt",)  # not a reversal of the user's commit
    assert state(repo) == before
