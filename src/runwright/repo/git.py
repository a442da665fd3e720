"""Running git: a clean environment, a fixed identity, errors that say what failed."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from runwright.errors import GitError

#: Commits runwright makes (snapshots of agent work, applied patches) are signed so.
IDENTITY = {
    "GIT_AUTHOR_NAME": "runwright",
    "GIT_AUTHOR_EMAIL": "runwright@localhost",
    "GIT_COMMITTER_NAME": "runwright",
    "GIT_COMMITTER_EMAIL": "runwright@localhost",
}

#: Given to every command: a user's ``commit.gpgsign`` would block on a pinentry (or fail)
#: for commits runwright makes, and the repository's hooks are the user's, not ours.
CONFIG = ("-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "core.hooksPath=/dev/null")

#: Variables that would point git at another repository, index or config.
_LEAKY = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")


def git_env() -> dict[str, str]:
    """The environment every git call runs with."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env.update(IDENTITY)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"  # messages parsed below are git's English ones
    return env


@dataclass(frozen=True, slots=True)
class GitResult:
    code: int
    out: str
    err: str
    #: stdout as git wrote it (``out`` replaces bytes that are not UTF-8).
    raw: bytes = b""


async def git(cwd: Path, *args: str, input: bytes | None = None, check: bool = True) -> GitResult:
    """Run ``git ARGS`` in ``cwd``; a non-zero exit raises :class:`GitError` when ``check``."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "git",
            *CONFIG,
            *args,
            cwd=cwd,
            env=git_env(),
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        if not cwd.is_dir():
            raise GitError(f"{cwd} is not a directory; cannot run git there") from exc
        raise GitError("git is not installed (apt-get install git)") from exc
    out, err = await proc.communicate(input)
    result = GitResult(
        proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"), out
    )
    if check and result.code != 0:
        tail = (result.err.strip() or result.out.strip())[-800:]
        raise GitError(f"`git {' '.join(args[:4])}` in {cwd} failed ({result.code}): {tail}")
    return result


async def toplevel(path: Path) -> Path:
    """The root of the git repository that contains ``path``."""
    where = path if path.is_dir() else path.parent
    result = await git(where, "rev-parse", "--show-toplevel", check=False)
    if result.code != 0:
        raise GitError(
            f"{path} is not inside a git repository; agent steps work on one: "
            "`git init` it, or set `repo:` in the step's with:"
        )
    return Path(result.out.strip())


async def resolve(repo: Path, ref: str) -> str:
    """The full commit sha ``ref`` names in ``repo``."""
    result = await git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if result.code != 0:
        raise GitError(
            f"{ref!r} is not a commit in {repo}; use a branch, tag or sha that exists "
            "(a new repository needs a first commit)"
        )
    return result.out.strip()


async def current_branch(repo: Path) -> str | None:
    """The branch checked out in ``repo``'s working tree (``None``: detached HEAD)."""
    result = await git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return result.out.strip() or None if result.code == 0 else None
