"""A gate's ground: a fresh worktree at the patch's base with the patch applied.

Everything comes from the store (the diff blob, the base commit, the repository
path), never from the agent's worktree, so a gate can run on another worker than
the agent that made the patch.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from runwright.agents.reuse import done_with, gate_tree_name
from runwright.errors import GateFailed, PatchError
from runwright.patches import ledger
from runwright.patches.states import PatchState
from runwright.repo.diff import apply_to_worktree
from runwright.repo.worktree import Worktree, create, worktree_root
from runwright.store.base import Store
from runwright.store.records_patches import PatchRecord

#: States a gate may judge: it validates proposed patches, and re-judges on resume.
GATEABLE = frozenset({PatchState.PROPOSED, PatchState.VALIDATED})


async def gateable(store: Store, patch_id: str, step_id: str) -> PatchRecord:
    """The patch, if a gate may run on it; a clear error naming its state otherwise."""
    p = await ledger.get(store, patch_id)
    if p.state == PatchState.REJECTED and (p.reason or "").startswith("gate failed"):
        # An agent that makes the very same change again gets the same verdict, and the
        # loop's feedback says so rather than that the patch is in the wrong state.
        raise GateFailed(
            f"the agent proposed the same change again (patch {p.id[:12]}), which already "
            f"failed: {p.reason}"
        )
    if PatchState(p.state) not in GATEABLE:
        why = f": {p.reason}" if p.reason else ""
        raise PatchError(
            f"step {step_id!r}: patch {p.id[:12]} is {p.state}{why}; a gate judges proposed "
            "patches only",
            patch=p.id,
        )
    return p


@asynccontextmanager
async def applied(
    store: Store, p: PatchRecord, *, run_id: str, step_id: str, attempt: int
) -> AsyncIterator[Worktree]:
    """A fresh worktree at ``p``'s base with ``p`` applied.

    Fresh in content: it may be a tree another attempt is done with, cleaned and
    switched to the base (see :mod:`runwright.agents.reuse`). Afterwards it is left for
    the next attempt of the run to take over in turn (the loop's next agent, say);
    ``runwright gc`` removes it with the run.
    """
    repo = Path(p.repo)
    if not (repo / ".git").exists():
        raise PatchError(
            f"step {step_id!r}: the repository of patch {p.id[:12]} ({repo}) is not on this "
            "machine; run the gate on a worker that has it (labels:)",
            patch=p.id,
        )
    name = gate_tree_name(run_id, step_id, attempt)
    branch = f"runwright/{run_id}/{step_id}/gate-{attempt}"
    done = await done_with(store, run_id, worktree_root(repo))
    wt = await create(repo, base=p.base, branch=branch, name=name, reuse=done)
    try:
        await apply_to_worktree(wt, await ledger.diff_text(store, p.id))
        yield wt
    finally:
        # A sandboxed gate's TMPDIR (agents.sandbox.private_tmp), if there is one.
        shutil.rmtree(wt.path.parent / f"{wt.path.name}.tmp", ignore_errors=True)


async def judge(store: Store, p: PatchRecord, *, passed: bool, reason: str) -> PatchRecord:
    """Record the gate's verdict in the ledger (a re-run of a passed gate changes nothing)."""
    current = await ledger.get(store, p.id)
    if passed:
        if current.state == PatchState.VALIDATED:
            return current
        return await ledger.transition(store, p.id, PatchState.VALIDATED, reason=reason)
    return await ledger.transition(store, p.id, PatchState.REJECTED, reason=reason)
