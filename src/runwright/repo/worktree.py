"""One git worktree per attempt, under ``<repo>/.runwright/worktrees/``.

A worktree shares the repository's objects but has its own working tree, index and
branch, so an agent (or a gate) works there while the user's checkout, index and
branch stay exactly as they were.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runwright.repo.git import git, resolve
from runwright.repo.lock import worktrees_locked

#: The line added to ``.git/info/exclude`` so worktrees never show in ``git status``.
_EXCLUDE = "/.runwright/"
#: In the worktree's own git directory (.git/worktrees/NAME/): the commit it started from.
_BASE_FILE = "runwright-base"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Branches of the short-lived worktrees a patch apply merges in.
SCRATCH_PREFIX = "runwright/scratch/"
_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True, slots=True)
class Worktree:
    """A worktree of ``repo`` at ``path`` on ``branch``, made from commit ``base``."""

    repo: Path
    path: Path
    branch: str
    #: The commit the worktree started from ("" when listed, not created).
    base: str


def worktree_root(repo: Path) -> Path:
    """Where runwright's worktrees of ``repo`` live."""
    return repo / ".runwright" / "worktrees"


def _part(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-.") or "x"


def branch_name(run_id: str, step_id: str, attempt: int, item: int | None = None) -> str:
    """``runwright/<run>/<step>/<attempt>[-<item>]``: the branch of one attempt."""
    tail = str(attempt) if item is None else f"{attempt}-{item}"
    return f"runwright/{_part(run_id)}/{_part(step_id)}/{tail}"


async def common_dir(repo: Path) -> Path:
    """The repository's common git directory (shared by all its worktrees)."""
    dot_git = repo / ".git"
    if dot_git.is_dir():
        return dot_git  # the usual case, answered without starting git
    result = await git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
    return Path(result.out.strip())


def _exclude(common: Path) -> None:
    info = common / "info"
    info.mkdir(parents=True, exist_ok=True)
    exclude = info / "exclude"
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    if _EXCLUDE not in lines:
        with exclude.open("a") as f:
            f.write(("\n" if lines and lines[-1] else "") + _EXCLUDE + "\n")


async def _gitdir(path: Path) -> Path:
    """A worktree's own git directory, from its ``.git`` file (``gitdir: PATH``)."""
    try:
        text = (path / ".git").read_text()
    except OSError:
        text = ""
    if text.startswith("gitdir: "):
        return (path / text[len("gitdir: ") :].strip()).resolve()
    result = await git(path, "rev-parse", "--path-format=absolute", "--git-dir")
    return Path(result.out.strip())


async def _recorded_base(path: Path) -> str:
    """The commit a worktree started from; "" when it was never finished.

    Written last when a worktree is made, so a tree a crash left half-made (registered
    but not checked out, or recycled but not switched) reads as unfinished. Resolving
    ``base`` again instead would be wrong after the user committed on it: the
    snapshot's diff would then undo their new commits.
    """
    try:
        return (await _gitdir(path) / _BASE_FILE).read_text().strip()
    except OSError:
        return ""


async def create(
    repo: Path, *, base: str, branch: str, name: str, reuse: Iterable[str] = ()
) -> Worktree:
    """A new worktree ``name`` on a new ``branch`` at ``base`` (a ref or sha).

    Resuming an attempt finds its worktree already there: it is returned as it is,
    with whatever the agent had done in it. ``reuse`` names worktrees that nothing
    needs any more (their attempts committed, their work on their branches): the
    first still there is recycled, cleaned and switched to ``base`` (~20 ms), rather
    than all of ``base`` written again (100 ms to 1 s for 1,000 files here).
    """
    path = worktree_root(repo) / _part(name)
    if (path / ".git").exists():
        head = await git(path, "rev-parse", "--abbrev-ref", "HEAD", check=False)
        if head.code == 0 and head.out.strip() == branch:
            recorded = await _recorded_base(path)
            if recorded:
                return Worktree(repo, path, branch, recorded)
    sha = base if _SHA.fullmatch(base) else await resolve(repo, base)
    common = await common_dir(repo)
    _exclude(common)
    path.parent.mkdir(parents=True, exist_ok=True)
    async with worktrees_locked(common):
        # Only registering needs the lock; the checkout below runs beside other trees'.
        recycled = await _recycle(repo, path, reuse)
        if not recycled:
            await _register(repo, path, branch, sha)
    if recycled:
        # Untracked and ignored files first: the tree must hold nothing the last agent left.
        await git(path, "clean", "-ffdxq")
        await git(path, "checkout", "-q", "-f", "-B", branch, sha)
    else:
        await git(path, "reset", "-q", "--hard")
    (await _gitdir(path) / _BASE_FILE).write_text(sha + "\n")
    return Worktree(repo, path, branch, sha)


async def _clear(repo: Path, path: Path) -> None:
    """Remove what a crash left at ``path``: a stale registration or a half-made tree."""
    await git(repo, "worktree", "prune", check=False)
    if path.exists():
        await git(repo, "worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(path, ignore_errors=True)


async def _register(repo: Path, path: Path, branch: str, sha: str) -> None:
    """``git worktree add --no-checkout``: the tree's git files, its files come after."""
    add = ("worktree", "add", "--quiet", "--no-checkout", "-B", branch, str(path), sha)
    made = await git(repo, *add, check=False)
    if made.code != 0:
        await _clear(repo, path)
        await git(repo, *add)


async def _recycle(repo: Path, path: Path, reuse: Iterable[str]) -> bool:
    """Move the first of ``reuse`` still there to ``path`` (under the worktree lock)."""
    root = worktree_root(repo)
    for old in reuse:
        source = root / _part(old)
        if source == path or not (source / ".git").is_file():
            continue  # taken by another worker already, or never an agent's tree
        if path.exists():
            await _clear(repo, path)
        moved = await git(repo, "worktree", "move", str(source), str(path), check=False)
        if moved.code != 0:
            continue  # e.g. it holds submodules, which git will not move
        # Its old start commit must not vouch for it until it is switched (see create).
        (await _gitdir(path) / _BASE_FILE).unlink(missing_ok=True)
        return True
    return False


async def remove(wt: Worktree, *, delete_branch: bool = True) -> None:
    """Remove the worktree (and its branch); nothing to remove is not an error."""
    async with worktrees_locked(await common_dir(wt.repo)):
        if wt.path.exists():
            await git(wt.repo, "worktree", "remove", "--force", str(wt.path), check=False)
        await git(wt.repo, "worktree", "prune", check=False)
        if delete_branch and wt.branch:
            await git(wt.repo, "branch", "-D", wt.branch, check=False)


async def list_worktrees(repo: Path) -> list[Worktree]:
    """runwright's worktrees of ``repo`` (those under :func:`worktree_root`)."""
    root = worktree_root(repo).resolve()
    listing = await git(repo, "worktree", "list", "--porcelain")
    found: list[Worktree] = []
    path: Path | None = None
    branch = ""
    for line in [*listing.out.splitlines(), ""]:
        if line.startswith("worktree "):
            path, branch = Path(line[len("worktree ") :]), ""
        elif line.startswith("branch "):
            branch = line[len("branch ") :].removeprefix("refs/heads/")
        elif not line and path is not None:
            if path.resolve().is_relative_to(root):
                found.append(Worktree(repo, path, branch, ""))
            path = None
    return found
