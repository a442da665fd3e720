"""STAND-IN per INTERFACES §1 (h/patches owns the real one)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from runwright.errors import RunwrightError


class GitError(RunwrightError):
    """git failed."""


@dataclass(frozen=True)
class GitResult:
    code: int
    out: str
    err: str


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="runwright",
        GIT_AUTHOR_EMAIL="runwright@localhost",
        GIT_COMMITTER_NAME="runwright",
        GIT_COMMITTER_EMAIL="runwright@localhost",
    )
    return env


async def git(cwd: Path, *args: str, input: bytes | None = None, check: bool = True) -> GitResult:
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=_env(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(input)
    r = GitResult(proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))
    if check and r.code:
        raise GitError(f"git {' '.join(args)} failed ({r.code}): {r.err[-500:]}")
    return r


async def toplevel(path: Path) -> Path:
    r = await git(path, "rev-parse", "--show-toplevel")
    return Path(r.out.strip())


async def resolve(repo: Path, ref: str) -> str:
    r = await git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}")
    return r.out.strip()
