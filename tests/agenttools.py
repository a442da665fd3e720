"""Helpers for the agent suites: a real git repository, the test agent, a project config."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

AGENTPROG = Path(__file__).with_name("agentprog.py")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def sh_git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` as the user would (its own identity); stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A git repository at ``path`` with ``files`` committed on ``main``."""
    path.mkdir(parents=True, exist_ok=True)
    sh_git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"README.md": "hello\n", "src/app.py": "x = 1\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    sh_git(path, "add", "-A")
    sh_git(path, "commit", "-q", "-m", "initial")
    return path


def user_state(repo: Path) -> dict[str, Any]:
    """What the user sees of the repository: HEAD, branch, status, index and files."""
    files = {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.parts and ".runwright" not in p.parts
    }
    return {
        "head": sh_git(repo, "rev-parse", "HEAD"),
        "branch": sh_git(repo, "branch", "--show-current"),
        "status": sh_git(repo, "status", "--porcelain", "--untracked-files=all"),
        "index": sh_git(repo, "ls-files", "--stage"),
        "files": files,
    }


def agents_toml(extra: str = "") -> str:
    """``[agents.fake]``: claude-code run by the test agent; ``[agents.bot]``: a command."""
    return (
        f'[agents.fake]\npreset = "claude-code"\nexecutable = "{AGENTPROG}"\n\n'
        f'[agents.bot]\ncommand = ["{AGENTPROG}"]\nresult = "block"\n'
        'resume_args = ["--resume", "{session}"]\n' + extra
    )


def require_bwrap() -> str:
    """The bwrap executable; skip without it, but fail under CI (which installs it)."""
    found = shutil.which("bwrap")
    if found is None:
        why = "needs bubblewrap (apt-get install bubblewrap)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must run the sandbox tests: {why}")
        pytest.skip(why)
    return found


def log_lines(path: Path) -> list[dict[str, Any]]:
    """The test agent's runs, as it logged them."""
    import json

    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
