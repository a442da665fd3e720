"""The approval step kind."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fixtures_steps.stepctx import make_context

from runwright.errors import FatalStepError
from runwright.steps.approval import ApprovalStep
from runwright.steps.base import StepContext, StepKind, WaitForApproval


def run(ctx: StepContext, params: dict[str, Any]) -> Any:
    return asyncio.run(ApprovalStep().run(ctx, params))


def test_is_a_step_kind() -> None:
    kind = ApprovalStep()
    assert isinstance(kind, StepKind)
    assert kind.accepts == frozenset({"prompt", "approvers"})
    assert kind.requires == frozenset()
    assert not kind.pure
    assert kind.code_version({}, Path()) is None


def test_asks_for_approval(tmp_path: Path) -> None:
    params = {"prompt": "Ship it?", "approvers": ["ana", "bo"]}
    result = run(make_context(tmp_path), params)
    assert result == WaitForApproval(prompt="Ship it?", data={"approvers": ["ana", "bo"]})


def test_defaults(tmp_path: Path) -> None:
    assert run(make_context(tmp_path), {}) == WaitForApproval(prompt=None, data={"approvers": []})


@pytest.mark.parametrize("params", [{"prompt": 3}, {"approvers": "ana"}, {"approvers": ["ana", 7]}])
def test_bad_params_are_fatal(tmp_path: Path, params: dict[str, Any]) -> None:
    with pytest.raises(FatalStepError, match="step 'step1'"):
        run(make_context(tmp_path), params)
