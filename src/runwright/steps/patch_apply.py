"""The ``patch.apply`` step kind: put a validated patch on a branch (see patches/apply.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from runwright.errors import FatalStepError
from runwright.patches import ledger
from runwright.patches.apply import apply_patch
from runwright.patches.states import PatchState
from runwright.steps.base import StepContext


class PatchApplyStep:
    """``uses: patch.apply`` — ``with: {patch, branch, message}``.

    ``patch`` is a ledger id (or unique prefix), usually ``{{ steps.ID.output.patch }}``
    of an agent step; ``branch`` defaults to the branch checked out in the patch's
    repository; ``message`` is the commit's first line. The patch must be validated (its
    gate passed) or accepted. Output: ``{patch, branch, commit}``; all ``null`` when
    ``patch`` is null (the agent changed nothing). A conflict marks the patch
    ``conflicted`` and fails the step naming the files; a target branch checked out
    with uncommitted changes is refused.
    """

    name: ClassVar[str] = "patch.apply"
    version: ClassVar[str] = "1"
    pure: ClassVar[bool] = False
    accepts: ClassVar[frozenset[str] | None] = frozenset({"patch", "branch", "message"})
    requires: ClassVar[frozenset[str]] = frozenset({"patch"})

    def capabilities(self, params: Mapping[str, Any]) -> frozenset[str]:
        """It writes a branch (and the working tree that has it checked out)."""
        return frozenset({"apply_patch", "write_workspace"})

    def code_version(self, params: Mapping[str, Any], ctx_dir: Path) -> str | None:
        """Nothing beyond ``params`` decides what is applied."""
        return None

    async def run(self, ctx: StepContext, params: Mapping[str, Any]) -> dict[str, Any]:
        """Apply the patch; an attempt that already applied it (resumed) reports that commit."""
        patch = params.get("patch")
        branch = params.get("branch")
        message = params.get("message")
        if patch is None or patch == "":
            ctx.log("stdout", "no patch to apply (the agent changed nothing)\n")
            return {"patch": None, "branch": None, "commit": None}
        for key, value in (("patch", patch), ("branch", branch), ("message", message)):
            if value is not None and not isinstance(value, str):
                raise FatalStepError(
                    f"step '{ctx.step_id}': with.{key} must be a string, got {value!r}"
                )
        if ctx.store is None:
            raise FatalStepError(
                f"step '{ctx.step_id}': patch.apply needs the run's database (the patch ledger);"
                " run it through runwright, not outside the engine"
            )
        current = await ledger.get(ctx.store, patch)
        if current.state == PatchState.APPLIED and branch in (None, current.applied_branch):
            # This attempt (before a crash) or an earlier run applied it already.
            done = current
        else:
            by = f"run {ctx.run_id} step {ctx.step_id}"
            done = await apply_patch(ctx.store, current.id, branch=branch, message=message, by=by)
        ctx.log("stdout", f"patch {done.id[:12]} on {done.applied_branch}: {done.applied_commit}\n")
        return {"patch": done.id, "branch": done.applied_branch, "commit": done.applied_commit}
