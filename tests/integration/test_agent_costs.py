"""Agent cost and sessions: reported cost against the budgets, resumed conversations."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_agent_step import configure, start

from agenttools import log_lines, make_repo
from runwright.api import Session
from runwright.events import EventType
from runwright.states import RunStatus


def write_pipeline(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "repo" / "pipeline.yaml"
    path.write_text(text)
    return path


async def test_a_run_over_budget_starts_no_more_agents(tmp_path: Path, db_url: str) -> None:
    make_repo(tmp_path / "repo")
    log = tmp_path / "agent.log"
    env = f"{{AGENTPROG_LOG: '{log}', AGENTPROG_COST: '0.08'}}"
    pipe = write_pipeline(
        tmp_path,
        "name: spend\nbudget: {usd: 0.05}\nsteps:\n"
        f"  - {{id: first, uses: agent, with: {{agent: fake, prompt: one, env: {env}}}}}\n"
        f"  - {{id: second, needs: [first], uses: agent, with: {{agent: fake, prompt: two, "
        f"env: {env}}}}}\n",
    )
    settings = configure(tmp_path, db=db_url)
    result, outputs, events = await start(settings, pipe)
    assert result.status is RunStatus.FAILED
    # The first agent was given the whole budget as its limit and reported going over it.
    [run] = log_lines(log)
    assert run["argv"][run["argv"].index("--max-budget-usd") + 1] == "0.050000"
    assert outputs["first"]["cost_usd"] == pytest.approx(0.08)
    # The second agent never started: refused before launch.
    failed = [e for e in events if e.type == EventType.STEP_FAILED and e.step_id == "second"]
    assert failed and "budget" in str(failed[0].data)
    started = [e.step_id for e in events if e.type == EventType.AGENT_STARTED]
    assert started == ["first"]
    async with Session(settings) as s:
        costs = await s.store.costs(run_id=result.run_id)
        held = await s.store.reservations(run_id=result.run_id)
    assert [(c.step_id, c.usd) for c in costs] == [("first", pytest.approx(0.08))]
    assert {r.step_id: r.state for r in held} == {"first": "settled", "second": "denied"}


async def test_unknown_agent_cost_is_unknown_never_zero(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    pipe = write_pipeline(
        tmp_path,
        "name: spend\nsteps:\n"
        "  - {id: a, uses: agent, with: {agent: fake, prompt: x, env: {AGENTPROG_COST: none}}}\n",
    )
    settings = configure(tmp_path)
    result, outputs, _ = await start(settings, pipe)
    assert result.status is RunStatus.SUCCEEDED
    assert outputs["a"]["cost_usd"] is None
    async with Session(settings) as s:
        [cost] = await s.store.costs(run_id=result.run_id)
    assert cost.usd is None


async def test_a_later_step_resumes_the_session_of_an_earlier_one(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    log = tmp_path / "agent.log"
    # The test agent keeps sessions where Claude Code does: per directory it ran in.
    env = f"{{AGENTPROG_LOG: '{log}', CLAUDE_CONFIG_DIR: '{tmp_path / 'claude'}'}}"
    pipe = write_pipeline(
        tmp_path,
        "name: talk\nsteps:\n"
        f"  - {{id: plan, uses: agent, with: {{agent: fake, prompt: plan, env: {env}}}}}\n"
        "  - id: build\n    needs: [plan]\n    uses: agent\n    with:\n"
        "      agent: fake\n      prompt: build\n"
        "      session: '{{ steps.plan.output.session_id }}'\n"
        f"      env: {env}\n",
    )
    result, outputs, _ = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.SUCCEEDED, result
    first, second = log_lines(log)
    assert "--resume" not in first["argv"]
    session = outputs["plan"]["session_id"]
    assert second["argv"][second["argv"].index("--resume") + 1] == session
    assert outputs["build"]["session_id"] == session
    # The conversation was found from the second worktree, its paths moved there.
    assert [h["message"] for h in second["history"]] == ["plan"]
    assert {h["cwd"] for h in second["history"]} == {second["cwd"]} != {first["cwd"]}


async def test_a_retry_with_session_resume_continues_the_failed_attempts_session(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path / "repo")
    log = tmp_path / "agent.log"
    once = tmp_path / "failed-once"
    pipe = write_pipeline(
        tmp_path,
        "name: retry\nsteps:\n"
        "  - id: fix\n    uses: agent\n    retry: {attempts: 2, initial_delay: 0}\n"
        "    with:\n      agent: fake\n      prompt: fix it\n      session: resume\n"
        f"      env: {{AGENTPROG_LOG: '{log}', AGENTPROG_FAIL_ONCE: '{once}', "
        f"CLAUDE_CONFIG_DIR: '{tmp_path / 'claude'}'}}\n",
    )
    result, outputs, _ = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.SUCCEEDED, result
    first, second = log_lines(log)
    assert "--resume" not in first["argv"]
    # The first attempt failed but reported its session: the retry continues it.
    resumed = second["argv"][second["argv"].index("--resume") + 1]
    assert resumed == outputs["fix"]["session_id"]
    assert outputs["fix"]["branch"].endswith("/fix/2")
    assert [h["message"] for h in second["history"]] == ["fix it"]
    assert second["cwd"] != first["cwd"]


async def test_a_session_not_on_this_machine_starts_a_new_one_and_says_so(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path / "repo")
    log = tmp_path / "agent.log"
    pipe = write_pipeline(
        tmp_path,
        "name: elsewhere\nsteps:\n"
        "  - id: fix\n    uses: agent\n"
        "    with:\n      agent: fake\n      prompt: fix it\n      session: gone-elsewhere\n"
        f"      env: {{AGENTPROG_LOG: '{log}', CLAUDE_CONFIG_DIR: '{tmp_path / 'claude'}'}}\n",
    )
    result, outputs, events = await start(configure(tmp_path), pipe)
    # Claude Code would fail with "No conversation found": a new session runs instead.
    assert result.status is RunStatus.SUCCEEDED, result
    [run] = log_lines(log)
    assert "--resume" not in run["argv"] and run["history"] == []
    assert outputs["fix"]["session_id"] == run["argv"][run["argv"].index("--session-id") + 1]
    [started] = [e for e in events if e.type == EventType.AGENT_STARTED]
    assert started.data["session_not_found"] == "gone-elsewhere"
    assert started.data["session"] is None and started.level == "warning"
