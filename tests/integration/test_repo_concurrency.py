"""Worktrees of one repository made and removed at once, by tasks and by processes.

Eight agents starting together used to fail with ``fatal: failed to read
.git/worktrees/NAME/commondir``: one's ``git worktree prune`` read another's
half-registered worktree. :mod:`runwright.repo.lock` serialises the changes.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

from gittools import git, make_repo
from runwright.repo.worktree import create, list_worktrees, remove

ROUNDS = 3
N = 8


async def _churn(repo: Path, tag: str) -> None:
    for r in range(ROUNDS):
        made = await asyncio.gather(
            *(
                create(repo, base="main", branch=f"runwright/{tag}/{r}/{i}", name=f"{tag}-{r}-{i}")
                for i in range(N)
            )
        )
        for wt in made:
            assert (wt.path / "a.txt").read_text() == "1\n"
        await asyncio.gather(*(remove(wt) for wt in made[: N // 2]))


async def test_parallel_creates_and_removes_in_tasks_and_processes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "1\n"})
    other = textwrap.dedent(
        f"""
        import asyncio, sys
        sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parent.parent)!r}]
        from test_repo_concurrency import _churn
        from pathlib import Path
        asyncio.run(_churn(Path({str(repo)!r}), "proc"))
        """
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", other, stderr=subprocess.PIPE)
    await _churn(repo, "task")
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    # Every worktree not removed is registered, on its branch; nothing else is left.
    kept = {wt.branch for wt in await list_worktrees(repo)}
    expected = {
        f"runwright/{tag}/{r}/{i}"
        for tag in ("task", "proc")
        for r in range(ROUNDS)
        for i in range(N // 2, N)
    }
    assert kept == expected
    assert "runwright/task/0/0" not in git(repo, "branch", "--list")
