"""STAND-IN per INTERFACES §1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runwright.repo.git import git


@dataclass(frozen=True)
class Worktree:
    repo: Path
    path: Path
    branch: str
    base: str


def worktree_root(repo: Path) -> Path:
    return repo / ".runwright" / "worktrees"


def branch_name(run_id: str, step_id: str, attempt: int, item: int | None = None) -> str:
    return f"runwright/{run_id}/{step_id}/{attempt}" + ("" if item is None else f"-{item}")


async def create(repo: Path, *, base: str, branch: str, name: str) -> Worktree:
    path = worktree_root(repo) / name
    exclude = Path((await git(repo, "rev-parse", "--git-common-dir")).out.strip())
    if not exclude.is_absolute():
        exclude = repo / exclude
    ex = exclude / "info" / "exclude"
    ex.parent.mkdir(parents=True, exist_ok=True)
    text = ex.read_text() if ex.exists() else ""
    if ".runwright/" not in text.split("\n"):
        ex.write_text(text + ("" if text.endswith("\n") or not text else "\n") + ".runwright/\n")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        await git(repo, "worktree", "add", "-b", branch, str(path), base)
    return Worktree(repo, path, branch, base)
