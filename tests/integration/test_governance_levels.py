"""The built-in levels' rows, through the real engine on SQLite and PostgreSQL.

A test kind declares whatever capabilities its ``with: caps`` lists and, when it
acts, appends its step id to ``acted.log`` beside the pipeline: so "nothing ran"
is a fact on disk, not an absence of events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
from enginetools import Write, settings_for

from runwright.api import Session
from runwright.api.results import RunResult
from runwright.config import load_config
from runwright.registry import Registry, build_registry
from runwright.settings import Settings
from runwright.states import RunStatus
from runwright.steps.base import StepContext


class Declares:
    """``uses: declares`` — ``with: {caps: [...]}``: does what it says, records that it did."""

    name: ClassVar[str] = "declares"
    version: ClassVar[str] = "1"
    pure: ClassVar[bool] = False
    accepts: ClassVar[frozenset[str] | None] = frozenset({"caps"})
    requires: ClassVar[frozenset[str]] = frozenset({"caps"})

    def capabilities(self, params: Mapping[str, Any]) -> frozenset[str]:
        return frozenset(params["caps"])

    def code_version(self, params: Mapping[str, Any], ctx_dir: Path) -> str | None:
        return None

    async def run(self, ctx: StepContext, params: Mapping[str, Any]) -> dict[str, Any]:
        with (ctx.pipeline_dir / "acted.log").open("a") as f:
            f.write(ctx.step_id + "\n")
        return {"acted": ctx.step_id}


def _registry() -> Registry:
    registry = build_registry(plugins=False)
    registry.register(Declares(), source="test")
    return registry


def _acted(tmp_path: Path) -> list[str]:
    log = tmp_path / "acted.log"
    return log.read_text().split() if log.exists() else []


async def _run(settings: Settings, spec: Path) -> tuple[RunResult, list[Any]]:
    async with Session(settings, registry=_registry()) as s:
        result = await s.start_run(spec)
        decisions = await s.store.events(result.run_id, types=["governance.decision"])
    return result, decisions


async def _decide(settings: Settings, run_id: str, step: str, *, approve: bool) -> RunResult:
    async with Session(settings, registry=_registry()) as s:
        return await s.decide(run_id, step, approve=approve, by="ana", note="checked")


def _spec(level: str, steps: dict[str, list[str]], *, on_failure: str = "continue") -> str:
    lines = [f"name: {level}-row", f"trust: {level}", "steps:"]
    for step_id, caps in steps.items():
        lines.append(
            f"  - {{id: {step_id}, uses: declares, on_failure: {on_failure},"
            f" with: {{caps: {caps}}}}}"
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return settings_for(db_url, tmp_path)


async def test_intern_runs_agents_and_shell_only_inside_the_sandbox(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    spec = write(
        "p.yaml",
        _spec(
            "intern",
            {
                "boxed_agent": ["agent", "write_workspace", "spend", "sandboxed"],
                "boxed_shell": ["shell", "write_workspace", "sandboxed"],
                "open_agent": ["agent", "write_workspace", "spend", "network"],
                "open_shell": ["shell", "write_workspace"],
            },
        ),
    )
    _, decisions = await _run(settings, spec)
    assert sorted(_acted(tmp_path)) == ["boxed_agent", "boxed_shell"]
    by_step = {e.step_id: e.data for e in decisions}
    assert {s: d["decision"] for s, d in by_step.items()} == {
        "boxed_agent": "allowed",
        "boxed_shell": "allowed",
        "open_agent": "denied",
        "open_shell": "denied",
    }
    assert by_step["open_shell"]["missing"] == ["run commands outside the sandbox (sandbox: bwrap)"]
    # An unsandboxed agent also wants the network, which intern does not allow at all.
    assert by_step["open_agent"]["missing"] == [
        "run a coding agent outside the sandbox (sandbox: bwrap)",
        "reach the network",
    ]
    assert all(d["level"] == "intern" for d in by_step.values())


async def test_student_allows_model_calls_only(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    spec = write(
        "p.yaml",
        _spec(
            "student",
            {
                "think": ["spend"],
                "boxed_agent": ["agent", "write_workspace", "spend", "sandboxed"],
                "write": ["write_workspace"],
            },
        ),
    )
    _, decisions = await _run(settings, spec)
    assert _acted(tmp_path) == ["think"]
    assert {e.step_id: e.data["decision"] for e in decisions} == {
        "think": "allowed",
        "boxed_agent": "denied",
        "write": "denied",
    }


async def test_intern_parks_every_patch_apply_for_approval_even_with_on_violation_fail(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    caps = ["apply_patch", "write_workspace"]
    spec = write("p.yaml", _spec("intern", {"apply": caps}, on_failure="stop"))
    result, decisions = await _run(settings, spec)
    assert result.status is RunStatus.WAITING and result.waiting_for == ["apply"]
    assert _acted(tmp_path) == []
    [asked] = decisions
    assert asked.data["decision"] == "asked"
    assert asked.data["missing"] == ["apply_patch without approval"]
    done = await _decide(settings, result.run_id, "apply", approve=True)
    assert done.status is RunStatus.SUCCEEDED
    assert _acted(tmp_path) == ["apply"]  # the approval let it act: it ran, once
    async with Session(settings) as s:
        events = await s.store.events(result.run_id, types=["governance.decision"])
    assert [e.data["decision"] for e in events] == ["asked", "granted", "granted"]


async def test_a_rejected_patch_apply_never_acts(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    spec = write("p.yaml", _spec("intern", {"apply": ["apply_patch"]}, on_failure="stop"))
    result, _ = await _run(settings, spec)
    done = await _decide(settings, result.run_id, "apply", approve=False)
    assert done.status is RunStatus.FAILED
    assert "rejected by ana: checked (intern trust level)" in str(done.error)
    assert _acted(tmp_path) == []


@pytest.mark.parametrize(("level", "acts"), [("supervised", True), ("student", False)])
async def test_patches_apply_on_their_own_at_supervised_and_never_at_student(
    settings: Settings, write: Write, tmp_path: Path, level: str, acts: bool
) -> None:
    spec = write("p.yaml", _spec(level, {"apply": ["apply_patch", "write_workspace"]}))
    _, [decision] = await _run(settings, spec)
    assert _acted(tmp_path) == (["apply"] if acts else [])
    assert decision.data["decision"] == ("allowed" if acts else "denied")


async def test_a_configured_row_replaces_the_builtin_one(
    db_url: str, write: Write, tmp_path: Path
) -> None:
    write(
        "runwright.toml",
        """
        [trust.levels.intern]
        shell = "yes"
        apply_patch = "no"
        """,
    )
    settings = replace(
        settings_for(db_url, tmp_path), config=load_config(tmp_path / "runwright.toml")
    )
    spec = write(
        "p.yaml",
        _spec("intern", {"open_shell": ["shell", "write_workspace"], "apply": ["apply_patch"]}),
    )
    _, decisions = await _run(settings, spec)
    # apply is refused outright now (not asked), shell outside the sandbox allowed
    assert _acted(tmp_path) == ["open_shell"]
    assert {e.step_id: e.data["decision"] for e in decisions} == {
        "open_shell": "allowed",
        "apply": "denied",
    }


async def test_a_kind_that_declares_nothing_is_assumed_to_do_anything(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    class Silent(Declares):
        name: ClassVar[str] = "silent"
        capabilities = None  # type: ignore[assignment]  # a plugin written before trust levels

    registry = _registry()
    registry.register(Silent(), source="test")
    spec = write(
        "p.yaml",
        "name: plugin\ntrust: intern\nsteps:\n  - {id: s, uses: silent, with: {caps: []}}\n",
    )
    async with Session(settings, registry=registry) as s:
        result = await s.start_run(spec)
        [decision] = await s.store.events(result.run_id, types=["governance.decision"])
    assert result.status is RunStatus.FAILED and _acted(tmp_path) == []
    assert decision.data["capabilities"] == ["network", "shell", "write_workspace"]
