"""Garbage collection of what agent runs leave behind: worktrees, branches, orphans.

An agent attempt keeps its worktree (``<repo>/.runwright/worktrees/NAME``), its branch
(``runwright/<run>/<step>/<attempt>``) and its record files beside the worktree while
its run may still need them: to resume without running the agent twice, or to retry.
Once the run is finished (succeeded, failed or cancelled) they are only clutter — the
patch itself lives in the ledger, as a blob — and this module removes them. Anything
of a run that is not finished, or of a run this database does not know, is kept.

It also kills orphaned process groups: a group recorded by an attempt that is no
longer in flight (abandoned by a crash, say) whose members are still alive on this
machine, checked to be the same group (leader start time), never a reused number.

``runwright gc [--dry-run]`` and every worker's start call :func:`collect`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runwright.engine.orphans import kill_group
from runwright.errors import GitError
from runwright.processes import ProcessGroup, live_groups, members, same_group
from runwright.repo.git import git, toplevel
from runwright.repo.lock import abandoned, in_use_file, worktrees_locked
from runwright.repo.worktree import (
    SCRATCH_PREFIX,
    Worktree,
    common_dir,
    list_worktrees,
    remove,
    worktree_root,
)
from runwright.store.base import Store

#: Branches runwright makes: ``runwright/<run>/<step>/<attempt>[-<item>]``.
BRANCH_PREFIX = "runwright/"
#: Record files beside a worktree, by suffix (see :mod:`runwright.agents.records`).
_RECORD_SUFFIXES = (".started.json", ".result.json", ".prompt.txt", ".instructions.md")
#: A sandboxed run's private TMPDIR beside its worktree (agents.sandbox.private_tmp).
_TMP_SUFFIX = ".tmp"


@dataclass(frozen=True, slots=True)
class Cleaned:
    """One thing gc removed (or, in a dry run, would remove)."""

    #: ``worktree``, ``branch``, ``record`` or ``process``.
    kind: str
    run_id: str | None
    #: The worktree path, branch name, record file, or ``pgid N``.
    what: str
    repo: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "run_id": self.run_id,
            "what": self.what,
            "repo": self.repo,
            **self.detail,
        }


@dataclass(frozen=True, slots=True)
class Kept:
    """Something gc left alone, and why."""

    kind: str
    what: str
    why: str
    run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "what": self.what, "why": self.why, "run_id": self.run_id}


@dataclass(slots=True)
class GcReport:
    """What one gc pass found, cleaned and kept."""

    dry_run: bool
    repos: list[str] = field(default_factory=list)
    cleaned: list[Cleaned] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    #: Failures that did not stop the pass (a branch checked out elsewhere, say).
    errors: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        """How many things of ``kind`` were (or would be) cleaned."""
        return sum(1 for c in self.cleaned if c.kind == kind)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "repos": self.repos,
            "cleaned": [c.to_json() for c in self.cleaned],
            "kept": [k.to_json() for k in self.kept],
            "errors": self.errors,
            "counts": {k: self.count(k) for k in ("worktree", "branch", "record", "process")},
        }


def run_of_branch(branch: str) -> str | None:
    """The run id in ``runwright/<run>/...``; None for any other branch."""
    if not branch.startswith(BRANCH_PREFIX):
        return None
    run = branch[len(BRANCH_PREFIX) :].split("/", 1)[0]
    return run or None


def run_of_record(name: str) -> str | None:
    """The run id a record file's worktree name starts with (``<run>-<step>-<n>``)."""
    for suffix in _RECORD_SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return stem.split("-", 1)[0] or None
    return None


def run_of_worktree(wt: Worktree) -> str | None:
    """The run of a worktree: from its branch, else from its directory name."""
    run = run_of_branch(wt.branch)
    if run is not None or wt.branch:
        return run
    # A detached worktree (its branch deleted by hand): ``[gate-]<run>-<step>-<n>``.
    return wt.path.name.removeprefix("gate-").split("-", 1)[0] or None


async def repositories(store: Store, extra: Iterable[Path] = ()) -> list[Path]:
    """The git repositories that may hold runwright worktrees, deduplicated.

    ``extra`` (``--repo``, the project directory), the repositories of patches in the
    ledger and those holding the pipeline files runs were started from; paths that are
    gone or not in a repository are skipped.
    """
    async with store.transaction() as tx:
        candidates = [Path(p) for p in await tx.gc_repositories()]
        dirs = {Path(p).parent for p in await tx.pipeline_paths()}
    found: dict[Path, None] = {}
    for path in [*extra, *candidates, *sorted(dirs)]:
        if not path.is_dir():
            continue
        with contextlib.suppress(GitError):
            found.setdefault((await toplevel(path)).resolve(), None)
    return list(found)


async def _branches(repo: Path) -> list[str]:
    listing = await git(
        repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/" + BRANCH_PREFIX
    )
    return [line.strip() for line in listing.out.splitlines() if line.strip()]


async def collect(
    store: Store,
    *,
    repos: Iterable[Path] = (),
    dry_run: bool = False,
    processes: bool = True,
) -> GcReport:
    """Clean finished runs' worktrees, branches and records in ``repos``; kill orphans.

    ``repos`` are searched in addition to those the store knows (:func:`repositories`).
    With ``dry_run`` nothing is removed or signalled: the report says what would be.
    """
    report = GcReport(dry_run=dry_run)
    for repo in await repositories(store, repos):
        report.repos.append(str(repo))
        try:
            await _collect_repo(store, repo, report, dry_run=dry_run)
        except GitError as exc:
            report.errors.append(f"{repo}: {exc.message}")
    if processes:
        await _collect_processes(store, report, dry_run=dry_run)
    return report


async def _collect_repo(store: Store, repo: Path, report: GcReport, *, dry_run: bool) -> None:
    worktrees = await list_worktrees(repo)
    branches = await _branches(repo)
    root = worktree_root(repo)
    record_files = sorted(p for p in root.glob("*") if p.is_file()) if root.is_dir() else []
    tmp_dirs = (
        sorted(p for p in root.glob(f"*{_TMP_SUFFIX}") if p.is_dir()) if root.is_dir() else []
    )
    runs = {run_of_worktree(wt) for wt in worktrees}
    runs |= {run_of_branch(b) for b in branches}
    runs |= {run_of_record(p.name) for p in record_files}
    runs |= {_run_of_tmp(p.name) for p in tmp_dirs}
    runs.discard(None)
    async with store.transaction() as tx:
        states = await tx.run_states({r for r in runs if r is not None})

    def finished(run: str | None, kind: str, what: str) -> bool:
        status = states.get(run) if run is not None else None
        if status is not None and status.finished:
            return True
        if run is None:
            why = "not on a runwright/<run>/... branch"
        elif status is None:
            why = "its run is not in this database"
        else:
            why = f"its run is {status}"
        report.kept.append(Kept(kind, what, why, run))
        return False

    for wt in worktrees:
        if wt.branch.startswith(SCRATCH_PREFIX):
            await _collect_scratch(repo, wt, report, dry_run=dry_run)
            continue
        run = run_of_worktree(wt)
        if not finished(run, "worktree", str(wt.path)):
            continue
        assert run is not None
        detail = {"branch": wt.branch, "status": str(states[run])}
        report.cleaned.append(Cleaned("worktree", run, str(wt.path), str(repo), detail))
        if not dry_run:
            await remove(Worktree(repo, wt.path, wt.branch, wt.base), delete_branch=False)
    for branch in branches:
        if branch.startswith(SCRATCH_PREFIX):
            continue  # removed with its worktree, above
        run = run_of_branch(branch)
        if not finished(run, "branch", branch):
            continue
        assert run is not None
        report.cleaned.append(
            Cleaned("branch", run, branch, str(repo), {"status": str(states[run])})
        )
        if not dry_run:
            await _delete_branch(repo, branch, report)
    for path in record_files:
        run = run_of_record(path.name)
        if run is None or not finished(run, "record", str(path)):
            continue
        report.cleaned.append(Cleaned("record", run, str(path), str(repo)))
        if not dry_run:
            path.unlink(missing_ok=True)
    for path in tmp_dirs:
        run = _run_of_tmp(path.name)
        if run is None or not finished(run, "record", str(path)):
            continue
        report.cleaned.append(Cleaned("record", run, str(path), str(repo)))
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True)
    if not dry_run and worktrees:
        async with worktrees_locked(await common_dir(repo)):
            await git(repo, "worktree", "prune", check=False)


async def _collect_scratch(repo: Path, wt: Worktree, report: GcReport, *, dry_run: bool) -> None:
    """A patch apply's scratch tree: removed once the process that made it is gone."""
    if not abandoned(wt.path):
        report.kept.append(Kept("worktree", str(wt.path), "a patch apply is using it", None))
        return
    report.cleaned.append(
        Cleaned("worktree", None, str(wt.path), str(repo), {"branch": wt.branch, "scratch": True})
    )
    if not dry_run:
        await remove(Worktree(repo, wt.path, wt.branch, ""), delete_branch=True)
        in_use_file(wt.path).unlink(missing_ok=True)


def _run_of_tmp(name: str) -> str | None:
    stem = name.removesuffix(_TMP_SUFFIX).removeprefix("gate-")
    return stem.split("-", 1)[0] or None


async def _delete_branch(repo: Path, branch: str, report: GcReport) -> None:
    done = await git(repo, "branch", "-D", branch, check=False)
    if done.code != 0:
        # Most often: the branch is checked out somewhere (a person is looking at it).
        tail = done.err.strip().splitlines()[-1:] or [f"exit code {done.code}"]
        report.errors.append(f"{repo}: could not delete branch {branch}: {tail[0]}")


async def _collect_processes(store: Store, report: GcReport, *, dry_run: bool) -> None:
    async with store.transaction() as tx:
        ended = await tx.ended_processes()
    live = live_groups()
    # Never our own group (gc runs inside a worker, which may itself be a step's child).
    seen: set[int] = {os.getpgrp()}
    for old in ended:
        group = ProcessGroup.from_json(old.process)
        if group.pgid in seen or group.pgid not in live or not group.local:
            continue
        if not same_group(group):
            continue  # the number leads a newer group now: not ours
        seen.add(group.pgid)
        detail: dict[str, Any] = {
            "step_id": old.step_id,
            "item": None if old.item < 0 else old.item,
            "attempt": old.number,
            "attempt_state": old.state,
            "pgid": group.pgid,
            "members": live[group.pgid],
        }
        if not dry_run:
            detail["signals"] = await kill_group(group.pgid)
            alive = members(group.pgid)
            if alive:
                detail["alive"] = alive
                report.errors.append(
                    f"process group {group.pgid} of run {old.run_id} step {old.step_id} "
                    f"survived SIGKILL ({alive}); kill it by hand"
                )
        report.cleaned.append(Cleaned("process", old.run_id, f"pgid {group.pgid}", None, detail))
