"""Real git repositories for the tests: made in tmp_path, with a first commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@localhost"]


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; its stdout (raises on failure)."""
    done = subprocess.run(
        ["git", *IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True
    )
    return done.stdout


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A repository at ``path`` on branch ``main`` with ``files`` committed."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"README.md": "hello\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "first")
    return path


def state(repo: Path) -> tuple[str, str, str]:
    """What the user sees: HEAD, the checked-out branch, and `git status --porcelain`."""
    return (
        git(repo, "rev-parse", "HEAD").strip(),
        git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip(),
        git(repo, "status", "--porcelain"),
    )
