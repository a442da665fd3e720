"""STAND-IN per INTERFACES §1."""

from __future__ import annotations

from dataclasses import dataclass

from runwright.repo.git import git
from runwright.repo.worktree import Worktree


@dataclass(frozen=True)
class Diff:
    text: str
    files: tuple[str, ...]
    added: int
    removed: int

    @property
    def empty(self) -> bool:
        return not self.text


async def snapshot(wt: Worktree, message: str) -> Diff:
    await git(wt.path, "add", "-A")
    st = await git(wt.path, "status", "--porcelain")
    if st.out.strip():
        await git(wt.path, "commit", "-q", "-m", message)
    text = (await git(wt.path, "diff", "--binary", f"{wt.base}..HEAD")).out
    stat = (await git(wt.path, "diff", "--numstat", f"{wt.base}..HEAD")).out
    files, added, removed = [], 0, 0
    for line in stat.splitlines():
        a, r, f = line.split("\t", 2)
        files.append(f)
        added += int(a) if a != "-" else 0
        removed += int(r) if r != "-" else 0
    return Diff(text, tuple(files), added, removed)
