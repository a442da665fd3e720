"""Which worktrees an attempt may take over instead of checking out its base again.

Writing every file of the base is most of an agent step's cost: 100 ms to 1 s for
1,000 files on the 2-core machine, where recycling a finished tree (clean, then switch
to the base) takes ~20 ms. A tree is done with when nothing can need it again:

- a **succeeded agent attempt's** tree in this run: its work is committed on its
  branch and in the patch ledger, its result in the store (a failed attempt's tree
  stays as it was, for whoever wants to see what went wrong);
- a **finished gate attempt's** tree in this run: it only ever held a patch from the
  ledger and what the gate's commands made of it;
- any agent or gate tree of a **finished run**: ``runwright gc`` would remove it.

Attempts in flight, cancelled (their process may not have stopped yet) or abandoned
(their trees hold what a resume records), and the trees of runs not finished or not in
this database, are never taken.
"""

from __future__ import annotations

import re
from pathlib import Path

from runwright.states import AttemptState
from runwright.steps.base import StepContext
from runwright.store.base import Store
from runwright.store.records import NO_ITEM, AttemptRecord

_GATE = "gate-"
#: The number and state of an attempt.
Previous = tuple[int, AttemptState]
#: A patch apply's scratch trees: removed by the apply itself (or by gc once it died).
_SCRATCH = "scratch-"


def worktree_name(run_id: str, step_id: str, attempt: int, item: int | None) -> str:
    """The directory name of an attempt's worktree under the worktree root."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", step_id)
    return f"{run_id}-{safe}-{attempt}" + ("" if item is None else f"-{item}")


def gate_tree_name(run_id: str, step_id: str, attempt: int) -> str:
    """The directory name of a gate attempt's worktree."""
    return f"{_GATE}{run_id}-{step_id}-{attempt}"


async def history(ctx: StepContext, root: Path) -> tuple[Previous | None, list[str]]:
    """The attempt of this step (and item) before this one, and the trees done with."""
    if ctx.store is None:
        return None, []
    item = NO_ITEM if ctx.item is None else ctx.item
    mine = await ctx.store.attempts(ctx.run_id, step_id=ctx.step_id, item=item)
    last = max((a for a in mine if a.number < ctx.attempt), key=lambda a: a.number, default=None)
    done = await done_with(ctx.store, ctx.run_id, root)
    return (None if last is None else (last.number, last.state)), done


async def done_with(store: Store, run_id: str, root: Path) -> list[str]:
    """Names of the trees under ``root`` no attempt needs, nearest first: this run's
    (likely on the same base, latest first), then finished runs'.

    Only the trees on disk are looked up (a few: they are taken over, not piled up),
    never all the run's attempts.
    """
    trees = _trees(root)
    own: dict[tuple[str, int], list[str]] = {}
    for name, branch in trees.items():
        key = _owner(run_id, branch)
        if key is not None:
            own.setdefault(key, []).append(name)
    found: list[tuple[int, str]] = []
    for (step_id, item), names in own.items():
        for a in await store.attempts(run_id, step_id=step_id, item=item):
            for name in _done_names(run_id, a):
                if name in names:
                    found.append((a.id, name))
    done = [name for _, name in sorted(found, reverse=True)]
    return done + await _finished_runs_trees(store, run_id, trees)


def _done_names(run_id: str, a: AttemptRecord) -> list[str]:
    """The trees attempt ``a`` made that nothing needs once it ended as it did."""
    names = []
    if a.state is AttemptState.SUCCEEDED:
        names.append(
            worktree_name(run_id, a.step_id, a.number, None if a.item == NO_ITEM else a.item)
        )
    if a.state in (AttemptState.SUCCEEDED, AttemptState.FAILED):
        names.append(gate_tree_name(run_id, a.step_id, a.number))
    return names


def _owner(run_id: str, branch: str) -> tuple[str, int] | None:
    """The step and item of this run whose attempt a tree's branch names, if any."""
    parts = branch.split("/")
    if len(parts) != 4 or parts[0] != "runwright" or parts[1] != run_id:
        return None
    tail = parts[3].removeprefix("gate-").split("-")
    if not all(t.isdigit() for t in tail):
        return None
    return parts[2], int(tail[1]) if len(tail) == 2 else NO_ITEM


def _trees(root: Path) -> dict[str, str]:
    """Every worktree directory under ``root`` and the branch it is on ("" if none)."""
    try:
        entries = [p for p in root.iterdir() if (p / ".git").is_file()]
    except OSError:
        return {}  # no worktree root yet
    out: dict[str, str] = {}
    for path in entries:
        if path.name.startswith(_SCRATCH):
            continue  # a patch apply's, removed by the apply itself (or by gc)
        out[path.name] = _branch(path)
    return out


def _branch(tree: Path) -> str:
    # HEAD in the tree's own git directory: no git process per tree.
    try:
        link = (tree / ".git").read_text(encoding="utf-8").strip()
        gitdir = Path(link.removeprefix("gitdir:").strip())
        head = ((tree / gitdir) if not gitdir.is_absolute() else gitdir) / "HEAD"
        text = head.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return text.removeprefix("ref: refs/heads/") if text.startswith("ref: ") else ""


async def _finished_runs_trees(store: Store, run_id: str, trees: dict[str, str]) -> list[str]:
    by_run: dict[str, list[str]] = {}
    for name in trees:
        run = name.removeprefix(_GATE).split("-", 1)[0]
        if run and run != run_id:
            by_run.setdefault(run, []).append(name)
    if not by_run:
        return []
    async with store.transaction() as tx:
        states = await tx.run_states(by_run)
    return sorted(
        name
        for run, names in by_run.items()
        if run in states and states[run].finished
        for name in names
    )
