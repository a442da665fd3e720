"""The ``approval`` step kind: park the attempt until a person approves or rejects it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from runwright.errors import FatalStepError
from runwright.steps.base import StepContext, WaitForApproval


class ApprovalStep:
    """``uses: approval`` — ``with: {prompt, approvers}``.

    Holds no worker slot while waiting: the engine parks the attempt and
    ``runwright approve`` / ``reject`` finishes it. With ``approvers``, only the
    people named may decide (enforced by :func:`runwright.engine.approvals.decide`).
    """

    name: ClassVar[str] = "approval"
    version: ClassVar[str] = "1"
    pure: ClassVar[bool] = False
    accepts: ClassVar[frozenset[str] | None] = frozenset({"prompt", "approvers"})
    requires: ClassVar[frozenset[str]] = frozenset()

    @staticmethod
    def check_with(with_: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``approvers`` written in the spec must be a list of names (templates: at run time)."""
        approvers = with_.get("approvers")
        if approvers is None or (isinstance(approvers, str) and "{" in approvers):
            return []
        if isinstance(approvers, list) and all(isinstance(a, str) for a in approvers):
            return []
        example = f"[{approvers}]" if isinstance(approvers, str) else "[alice, bob]"
        return [("approvers", f"approvers must be a list of names; write approvers: {example}")]

    def capabilities(self, params: Mapping[str, Any]) -> frozenset[str]:
        """Waiting for a person does nothing a trust level bounds."""
        return frozenset()

    def code_version(self, params: Mapping[str, Any], ctx_dir: Path) -> str | None:
        """Nothing beyond ``params`` affects an approval."""
        return None

    async def run(self, ctx: StepContext, params: Mapping[str, Any]) -> WaitForApproval:
        """Ask for approval; the decision arrives later, outside this call."""
        prompt = params.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise FatalStepError(f"step '{ctx.step_id}': with.prompt must be a string")
        approvers = params.get("approvers") or []
        if not isinstance(approvers, list) or not all(isinstance(a, str) for a in approvers):
            raise FatalStepError(
                f"step '{ctx.step_id}': with.approvers must be a list of names, got {approvers!r}"
            )
        return WaitForApproval(prompt=prompt, data={"approvers": list(approvers)})
