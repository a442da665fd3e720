"""Patches as an agent step leaves them, made on real repositories for the tests."""

from __future__ import annotations

from pathlib import Path

from gittools import git
from runwright.patches import ledger
from runwright.patches.states import PatchState
from runwright.repo.diff import snapshot
from runwright.repo.worktree import branch_name, create, remove
from runwright.store.base import Store
from runwright.store.records_patches import PatchRecord

#: A small repository with a bug, and the fix an agent would make.
FILES = {"calc.py": "def add(a, b):\n    return a - b\n", "README.md": "calc\n"}
FIXED = "def add(a, b):\n    return a + b\n"


async def agent_patch(
    store: Store,
    repo: Path,
    files: dict[str, str | bytes],
    *,
    base: str = "main",
    attempt: int = 1,
    validate: bool = True,
    run_id: str = "r1",
) -> PatchRecord:
    """What an agent step leaves: work in its worktree, snapshotted and proposed."""
    wt = await create(
        repo, base=base, branch=branch_name(run_id, "fix", attempt), name=f"{run_id}-fix-{attempt}"
    )
    for name, content in files.items():
        target = wt.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    diff = await snapshot(wt, "agent work")
    p = await ledger.propose(
        store, run_id=run_id, step_id="fix", item=None, attempt=attempt, attempt_id=None,
        agent="test-agent", repo=repo, base=wt.base, branch=wt.branch, diff=diff,
    )  # fmt: skip
    await remove(wt)
    if validate:
        p = await ledger.transition(store, p.id, PatchState.VALIDATED, reason="gate passed")
    return p


def leftovers(repo: Path) -> list[str]:
    """Scratch worktrees and branches an apply must not leave behind."""
    branches = git(repo, "branch", "--list", "runwright/scratch/*").split()
    return branches + [line for line in git(repo, "worktree", "list").splitlines()[1:]]
