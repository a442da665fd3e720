"""Applying a patch to a branch, and rolling it back, without touching the user's checkout.

How an apply works, and why it is safe:

1. **The merge happens in a scratch worktree**, never in the user's working tree. A
   scratch worktree is made at the patch's base commit; the diff (from the store, so
   any worker can do this) is committed there as one commit ``C`` carrying a
   ``Runwright-Patch: <id>`` trailer. The scratch tree then checks out the target
   branch's tip (detached) and cherry-picks ``C``: a real 3-way merge whose merge
   base is the patch's base, ours the target, theirs the patch. A conflict leaves
   nothing behind (the pick is aborted, the scratch tree removed), marks the patch
   ``conflicted`` and raises :class:`~runwright.errors.PatchConflict` naming the files.
2. **The branch ref moves only as a fast-forward to the new commit** ``N`` (its parent
   is the tip the merge started from):

   - *branch not checked out anywhere*: ``git update-ref refs/heads/B N TIP``, a
     compare-and-swap, so a commit someone pushed meanwhile is never lost (the apply
     fails asking to run it again);
   - *branch checked out in a working tree* (the user's, usually): moving the ref
     behind that tree's back would make its files look like reversed changes, so
     runwright refuses if the tree has uncommitted changes to tracked files
     (:class:`~runwright.errors.DirtyCheckout`, naming them), and otherwise runs
     ``git merge --ff-only N`` *in that tree*: git updates ref, index and files
     together, and itself refuses to overwrite anything changed since the check
     (or an untracked file the patch would create).

3. **Then the ledger records it** (``applied``, with ``applied_branch`` and
   ``applied_commit``). If runwright dies between moving the branch and recording,
   the next apply finds the trailer in the branch's history and records that commit
   instead of applying the patch a second time.

A rollback is the same with ``git revert`` of the applied commit on the branch's
current tip (trailer ``Runwright-Rollback: <id>``), under the same rules; a revert
that conflicts with later commits leaves the patch ``applied`` and names the files.
Repository hooks are not run for these commits, and commit signing is off
(:data:`runwright.repo.git.CONFIG`).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from runwright.errors import DirtyCheckout, GitError, PatchConflict, PatchError
from runwright.patches import ledger
from runwright.patches.states import MOVES, PatchState
from runwright.repo.diff import apply_to_worktree
from runwright.repo.git import current_branch, git, resolve
from runwright.repo.lock import in_use
from runwright.repo.worktree import SCRATCH_PREFIX, Worktree, create, remove, worktree_root
from runwright.store.base import Store
from runwright.store.records_patches import PatchRecord

APPLIED_TRAILER = "Runwright-Patch"
ROLLBACK_TRAILER = "Runwright-Rollback"


def _short(sha: str | None) -> str:
    return (sha or "")[:12]


async def checked_out_in(repo: Path, branch: str) -> Path | None:
    """The working tree that has ``branch`` checked out (``None``: none has)."""
    listing = await git(repo, "worktree", "list", "--porcelain")
    path: Path | None = None
    for line in listing.out.splitlines():
        if line.startswith("worktree "):
            path = Path(line[len("worktree ") :])
        elif line == f"branch refs/heads/{branch}":
            return path
    return None


async def _require_clean(tree: Path, branch: str, patch_id: str, action: str) -> None:
    status = await git(tree, "status", "--porcelain", "--untracked-files=no")
    changed = [line[3:] for line in status.out.splitlines() if line.strip()]
    if changed:
        shown = ", ".join(changed[:10]) + (
            f" and {len(changed) - 10} more" if len(changed) > 10 else ""
        )
        raise DirtyCheckout(
            f"cannot {action} patch {_short(patch_id)}: branch {branch} is checked out in "
            f"{tree} with uncommitted changes ({shown}); commit or stash them there, "
            "then run it again",
            patch=patch_id,
            branch=branch,
            files=changed,
        )


async def _branch_tip(repo: Path, branch: str, patch_id: str) -> str:
    found = await git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    if found.code != 0:
        raise PatchError(
            f"patch {_short(patch_id)}: branch {branch!r} does not exist in {repo}; create it "
            "(`git branch NAME`) or pass another with --branch",
            patch=patch_id,
            branch=branch,
        )
    return found.out.strip()


async def _find_trailer(repo: Path, tip: str, trailer: str, patch_id: str) -> str | None:
    found = await git(
        repo, "log", "-n1", "--format=%H", "--fixed-strings", f"--grep={trailer}: {patch_id}", tip
    )
    return found.out.strip() or None


@contextlib.asynccontextmanager
async def _scratch(repo: Path, base: str, patch_id: str) -> AsyncIterator[Worktree]:
    tag = f"{patch_id[:12]}-{secrets.token_hex(3)}"
    name = f"scratch-{tag}"
    # Held while the scratch tree exists: gc removes one only when its process died.
    async with in_use(worktree_root(repo) / name):
        wt = await create(repo, base=base, branch=f"{SCRATCH_PREFIX}{tag}", name=name)
        try:
            yield wt
        finally:
            await remove(wt, delete_branch=True)


async def _unmerged(tree: Path) -> tuple[str, ...]:
    out = await git(tree, "diff", "--name-only", "--diff-filter=U", "-z", check=False)
    return tuple(f for f in out.out.split("\0") if f)


async def _move_branch(
    repo: Path, branch: str, old: str, new: str, *, patch_id: str, action: str
) -> None:
    """Fast-forward ``branch`` from ``old`` to ``new`` (see the module docstring)."""
    tree = await checked_out_in(repo, branch)
    if tree is None:
        moved = await git(
            repo,
            "update-ref",
            "-m",
            f"runwright: {action} patch {_short(patch_id)}",
            f"refs/heads/{branch}",
            new,
            old,
            check=False,
        )
        if moved.code != 0:
            raise PatchError(
                f"cannot {action} patch {_short(patch_id)}: branch {branch} moved while it was "
                f"being merged ({moved.err.strip()}); run it again",
                patch=patch_id,
                branch=branch,
            )
        return
    await _require_clean(tree, branch, patch_id, action)
    merged = await git(tree, "merge", "--ff-only", "--quiet", new, check=False)
    if merged.code != 0:
        said = merged.err.strip() or merged.out.strip()
        # git lists the files it will not overwrite one per line, indented by a tab.
        files = [line.strip() for line in said.splitlines() if line.startswith("\t")]
        if files and "untracked" in said:
            raise PatchError(
                f"cannot {action} patch {_short(patch_id)} on {branch} in {tree}: it would "
                f"overwrite the untracked {', '.join(files)} there; move or remove "
                f"{'it' if len(files) == 1 else 'them'}, then run it again",
                patch=patch_id,
                branch=branch,
                files=files,
            )
        raise PatchError(
            f"cannot {action} patch {_short(patch_id)} on {branch} in {tree}: "
            f"{' '.join(said.split())}; fix that and run it again",
            patch=patch_id,
            branch=branch,
            files=files,
        )


def _not_applicable(p: PatchRecord) -> PatchError:
    state = PatchState(p.state)
    why = {
        PatchState.PROPOSED: "it has not passed a gate; validate it with a `gate` step, or "
        "accept it yourself with `runwright patch apply ID --accept`",
        PatchState.APPLIED: f"it is already on {p.applied_branch} as {_short(p.applied_commit)}",
        PatchState.REJECTED: f"it was rejected ({p.reason or 'no reason given'})",
        PatchState.ROLLED_BACK: f"it was rolled back ({p.reason or ''})",
    }.get(state, "")
    return PatchError(
        f"patch {_short(p.id)} is {state}, so it cannot be applied: {why}",
        patch=p.id,
        state=str(state),
    )


def _message(p: PatchRecord, message: str | None) -> str:
    title = message or f"runwright: patch {_short(p.id)} from {p.run_id}/{p.step_id}"
    origin = f"Run {p.run_id}, step {p.step_id}, attempt {p.attempt}" + (
        f", agent {p.agent}" if p.agent else ""
    )
    return f"{title}\n\n{origin}.\n\n{APPLIED_TRAILER}: {p.id}\n"


async def apply_patch(
    store: Store,
    patch_id: str,
    *,
    branch: str | None = None,
    message: str | None = None,
    by: str | None = None,
    accept: bool = False,
) -> PatchRecord:
    """Apply a validated or accepted patch to ``branch`` (default: the checked-out one).

    ``accept`` lets a person apply a patch that is still ``proposed`` (it is moved to
    ``accepted`` by ``by`` first). Returns the ``applied`` record.
    """
    p = await ledger.get(store, patch_id)
    if accept and p.state == PatchState.PROPOSED:
        p = await ledger.transition(store, p.id, PatchState.ACCEPTED, reason="accepted", by=by)
    if PatchState.APPLIED not in MOVES[PatchState(p.state)]:
        raise _not_applicable(p)
    repo = Path(p.repo)
    if not repo.is_dir():
        raise PatchError(
            f"patch {_short(p.id)} belongs to the repository {repo}, which is not here; "
            "apply it on a machine that has it",
            patch=p.id,
        )
    target = branch or await current_branch(repo)
    if target is None:
        raise PatchError(
            f"cannot apply patch {_short(p.id)}: {repo} has a detached HEAD, so there is no "
            "current branch; pass the target with --branch (with: branch:)",
            patch=p.id,
        )
    tip = await _branch_tip(repo, target, p.id)
    has_base = await git(repo, "cat-file", "-e", f"{p.base}^{{commit}}", check=False)
    if has_base.code != 0:
        raise PatchError(
            f"patch {_short(p.id)} was made on commit {_short(p.base)}, which {repo} does not "
            "have; fetch it (`git fetch`) from where the agent ran, then apply again",
            patch=p.id,
        )
    tree = await checked_out_in(repo, target)
    if tree is not None:
        await _require_clean(tree, target, p.id, "apply")
    done = await _find_trailer(repo, tip, APPLIED_TRAILER, p.id)
    if done is not None:  # applied before a crash that kept the ledger from knowing
        return await ledger.transition(
            store,
            p.id,
            PatchState.APPLIED,
            reason=f"found on {target} as {_short(done)}",
            by=by,
            applied_branch=target,
            applied_commit=done,
        )
    text = await ledger.diff_text(store, p.id)
    async with _scratch(repo, p.base, p.id) as wt:
        await apply_to_worktree(wt, text)  # made on this base: applies as is
        await git(wt.path, "commit", "--quiet", "--no-verify", "-m", _message(p, message))
        change = await resolve(wt.path, "HEAD")
        await git(wt.path, "checkout", "--quiet", "--detach", tip)
        picked = await git(wt.path, "cherry-pick", "--allow-empty-message", change, check=False)
        if picked.code != 0:
            files = await _unmerged(wt.path)
            await git(wt.path, "cherry-pick", "--abort", check=False)
            if not files:
                raise PatchError(
                    f"patch {_short(p.id)}: {target} already has these changes "
                    f"(git: {picked.err.strip()[-200:]}); nothing to apply",
                    patch=p.id,
                    branch=target,
                )
            reason = f"conflicts with {target} at {_short(tip)} in {', '.join(files)}"
            await ledger.transition(store, p.id, PatchState.CONFLICTED, reason=reason, by=by)
            raise PatchConflict(
                f"patch {_short(p.id)} does not apply to {target}: {reason}; re-run the agent "
                f"step on the current {target}, or merge it by hand: `runwright patch show "
                f"{_short(p.id)} --diff | git apply --3way`",
                files=list(files),
                patch=p.id,
                branch=target,
            )
        new = await resolve(wt.path, "HEAD")
    await _move_branch(repo, target, tip, new, patch_id=p.id, action="apply")
    return await ledger.transition(
        store,
        p.id,
        PatchState.APPLIED,
        reason=f"applied to {target}",
        by=by,
        applied_branch=target,
        applied_commit=new,
    )


async def rollback_patch(store: Store, patch_id: str, *, by: str | None = None) -> PatchRecord:
    """Revert an applied patch on its branch; the ``rolled_back`` record."""
    p = await ledger.get(store, patch_id)
    if p.state != PatchState.APPLIED or not p.applied_branch or not p.applied_commit:
        raise PatchError(
            f"patch {_short(p.id)} is {p.state}; only an applied patch can be rolled back",
            patch=p.id,
            state=p.state,
        )
    repo, target, commit = Path(p.repo), p.applied_branch, p.applied_commit
    tip = await _branch_tip(repo, target, p.id)
    tree = await checked_out_in(repo, target)
    if tree is not None:
        await _require_clean(tree, target, p.id, "roll back")
    done = await _find_trailer(repo, tip, ROLLBACK_TRAILER, p.id)
    if done is not None:
        return await ledger.transition(
            store,
            p.id,
            PatchState.ROLLED_BACK,
            reason=f"reverted by {_short(done)} on {target}",
            by=by,
        )
    on_branch = await git(repo, "merge-base", "--is-ancestor", commit, tip, check=False)
    if on_branch.code != 0:
        raise PatchError(
            f"cannot roll back patch {_short(p.id)}: its commit {_short(commit)} is no longer "
            f"on {target} (history rewritten?); revert the change by hand",
            patch=p.id,
            branch=target,
        )
    async with _scratch(repo, tip, p.id) as wt:
        reverted = await git(wt.path, "revert", "--no-commit", commit, check=False)
        if reverted.code != 0:
            files = await _unmerged(wt.path)
            await git(wt.path, "revert", "--abort", check=False)
            raise PatchConflict(
                f"cannot roll back patch {_short(p.id)}: later commits on {target} change "
                f"{', '.join(files) or 'the same lines'}; revert {_short(commit)} by hand "
                "(`git revert`) and resolve the conflicts",
                files=list(files),
                patch=p.id,
                branch=target,
            )
        message = (
            f"Revert runwright patch {_short(p.id)}\n\nThis reverts commit {commit}.\n\n"
            f"{ROLLBACK_TRAILER}: {p.id}\n"
        )
        try:
            await git(wt.path, "commit", "--quiet", "--no-verify", "-m", message)
        except GitError as exc:
            raise PatchError(
                f"cannot roll back patch {_short(p.id)}: {target} no longer has its changes "
                "(nothing to revert)",
                patch=p.id,
                branch=target,
            ) from exc
        new = await resolve(wt.path, "HEAD")
    await _move_branch(repo, target, tip, new, patch_id=p.id, action="roll back")
    return await ledger.transition(
        store,
        p.id,
        PatchState.ROLLED_BACK,
        reason=f"reverted by {_short(new)} on {target}",
        by=by,
    )
