"""The agent step kind through the real engine: a real git repository, a real agent program."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agenttools import agents_toml, log_lines, make_repo, sh_git, user_state
from clitools import clean_env, wait_until
from runwright.api import Session
from runwright.events import EventType
from runwright.patches import ledger
from runwright.settings import Settings
from runwright.states import RunStatus
from runwright.steps.agent import AgentStep
from runwright.steps.base import StepKind

Write = Callable[[str, str], Path]


def configure(
    tmp_path: Path, extra: str = "", env: dict[str, str] | None = None, db: str | None = None
) -> Settings:
    (tmp_path / "runwright.toml").write_text(agents_toml() + extra)
    return Settings.from_env(
        {**clean_env(), **(env or {})}, cwd=tmp_path, db=db or str(tmp_path / "state" / "r.db")
    )


async def start(settings: Settings, path: Path) -> tuple[Any, dict[str, Any], Any]:
    async with Session(settings) as s:
        result = await s.start_run(path)
        details = await s.details(result.run_id)
        outputs = {
            a.step_id: await s.store.output(result.run_id, a.step_id, -1)
            for a in details.attempts
            if a.state.value == "succeeded"
        }
        events = await s.events(result.run_id)
    return result, outputs, events


def pipeline(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "repo" / "pipeline.yaml"
    path.write_text("name: agents\nsteps:\n" + steps)
    return path


async def test_the_agent_works_in_its_own_worktree_and_the_users_tree_is_untouched(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    pipe = pipeline(tmp_path, "")
    sh_git(repo, "add", "pipeline.yaml")
    sh_git(repo, "commit", "-q", "-m", "pipeline")
    # The user is in the middle of something: a staged change and an untracked file.
    (repo / "README.md").write_text("hello, edited by the user\n")
    sh_git(repo, "add", "README.md")
    (repo / "notes.txt").write_text("mine\n")
    log = tmp_path / "agent.log"
    pipe.write_text(
        "name: agents\nsteps:\n"
        "  - id: implement\n    uses: agent\n    with:\n"
        "      agent: fake\n      prompt: add a greeting\n"
        "      instructions: Only touch src/.\n"
        f"      env: {{AGENTPROG_LOG: '{log}', AGENTPROG_EDIT: 'src/greet.py=print(1)'}}\n"
    )
    before = user_state(repo)
    settings = configure(tmp_path)
    result, outputs, events = await start(settings, pipe)
    assert result.status is RunStatus.SUCCEEDED, result
    assert user_state(repo) == before
    out = outputs["implement"]
    assert out["files"] == ["src/greet.py"]
    assert out["diffstat"] == {"files": 1, "added": 1, "removed": 0}
    assert out["patch"] and out["agent"] == "fake" and out["exit_code"] == 0
    assert out["cost_usd"] == pytest.approx(0.01) and out["session_id"]
    assert out["branch"] == f"runwright/{result.run_id}/implement/1"
    assert out["base"] == before["head"].strip()
    assert out["text"] == "done: add a greeting"
    # The branch holds the agent's commit; the worktree sat under .runwright/worktrees.
    assert sh_git(repo, "show", f"{out['branch']}:src/greet.py") == "print(1)\n"
    [run] = log_lines(log)
    assert Path(run["cwd"]).parent == repo / ".runwright" / "worktrees"
    # The instructions were there for the agent, and are not part of the patch.
    assert run["claude_md"] == "Only touch src/.\n"
    assert "CLAUDE.md" not in out["files"]
    types = [e.type for e in events]
    assert EventType.AGENT_STARTED in types and EventType.AGENT_FINISHED in types
    async with Session(settings) as s:
        [cost] = await s.store.costs(run_id=result.run_id)
        patch = await ledger.get(s.store, out["patch"])
        text = await ledger.diff_text(s.store, out["patch"])
    assert (cost.provider, cost.model, cost.usd) == ("agent", "fake", pytest.approx(0.01))
    # The patch is in the ledger: proposed, from this attempt, its diff a blob.
    assert (patch.state, patch.step_id, patch.agent, patch.base) == (
        "proposed",
        "implement",
        "fake",
        out["base"],
    )
    assert "+print(1)" in text and "CLAUDE.md" not in text


async def test_an_agent_that_changes_nothing_proposes_no_patch(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    pipe = pipeline(
        tmp_path,
        "  - id: look\n    uses: agent\n    with: {agent: fake, prompt: look, "
        "env: {AGENTPROG_EDIT: ''}}\n",
    )
    result, outputs, _ = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.SUCCEEDED
    assert outputs["look"]["patch"] is None and outputs["look"]["files"] == []


async def test_command_preset_reads_a_result_block_and_gets_the_prompt_on_stdin(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path / "repo")
    log = tmp_path / "agent.log"
    pipe = pipeline(
        tmp_path,
        "  - id: b\n    uses: agent\n    with:\n      agent: bot\n      prompt: from stdin\n"
        f"      env: {{AGENTPROG_FORMAT: block, AGENTPROG_COST: '0.5', AGENTPROG_LOG: '{log}'}}\n",
    )
    result, outputs, _ = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.SUCCEEDED, result
    out = outputs["b"]
    assert out["text"] == "done: from stdin" and out["cost_usd"] == pytest.approx(0.5)
    assert out["files"] == ["agent.txt"]
    [run] = log_lines(log)
    assert "from stdin" not in run["argv"]


async def test_the_environment_is_an_allowlist_plus_what_the_step_declares_secrets_masked(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path / "repo")
    log = tmp_path / "agent.log"
    secret = "s3cr3t-value-0123456789"
    pipe = pipeline(
        tmp_path,
        "  - id: a\n    uses: agent\n    with:\n      agent: fake\n      prompt: go\n"
        "      env: [MY_API_KEY]\n",
    )
    env = {"MY_API_KEY": secret, "UNRELATED_VAR": "x", "AGENTPROG_LOG": str(log)}
    # AGENTPROG_* are not declared: the agent must not see them (so it logs nothing) ...
    settings = configure(tmp_path, env=env)
    result, _, _ = await start(settings, pipe)
    assert result.status is RunStatus.SUCCEEDED
    assert not log.exists()
    # ... until they are; the declared secret reaches it and is masked in its logs.
    pipe.write_text(
        "name: agents\nsteps:\n  - id: a\n    uses: agent\n    with:\n      agent: fake\n"
        "      prompt: go\n      env: [MY_API_KEY, AGENTPROG_LOG, AGENTPROG_ECHO]\n"
    )
    env["AGENTPROG_ECHO"] = "MY_API_KEY"
    settings = configure(tmp_path, env=env)
    result, _, _ = await start(settings, pipe)
    assert result.status is RunStatus.SUCCEEDED, result
    [run] = log_lines(log)
    assert "MY_API_KEY" in run["env"] and "UNRELATED_VAR" not in run["env"]
    async with Session(settings) as s:
        logs = "".join(c.text for c in await s.store.logs(result.run_id))
    assert "MY_API_KEY=***" in logs and secret not in logs


async def test_the_timeout_kills_the_agents_whole_process_group(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    pidfile = tmp_path / "child.pid"
    pipe = pipeline(
        tmp_path,
        "  - id: slow\n    uses: agent\n    with:\n      agent: fake\n      prompt: wait\n"
        "      timeout: 1\n"
        f"      env: {{AGENTPROG_HANG: '1', AGENTPROG_CHILD: '{pidfile}'}}\n",
    )
    result, _, events = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.FAILED
    child = int(pidfile.read_text())
    assert wait_until(lambda: not _alive(child), 10), "the agent's grandchild survived"
    [failed] = [e for e in events if e.type == EventType.STEP_FAILED]
    assert "with.timeout" in json.dumps(failed.data)


async def test_a_scope_violation_fails_the_step_naming_the_files(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    pipe = pipeline(
        tmp_path,
        "  - id: a\n    uses: agent\n    with:\n      agent: fake\n      prompt: go\n"
        "      scope: {write: ['src/*']}\n"
        "      env: {AGENTPROG_EDIT: 'src/ok.py=1;secrets.txt=2'}\n",
    )
    settings = configure(tmp_path)
    result, _, events = await start(settings, pipe)
    assert result.status is RunStatus.FAILED
    [failed] = [e for e in events if e.type == EventType.STEP_FAILED]
    assert "secrets.txt" in json.dumps(failed.data) and "scope" in json.dumps(failed.data)
    async with Session(settings) as s:
        [patch] = await ledger.patches(s.store, run_id=result.run_id)
    assert patch.state == "rejected" and "secrets.txt" in (patch.reason or "")


async def test_the_repositorys_own_instruction_file_is_kept_and_never_in_the_patch(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path / "repo", {"CLAUDE.md": "Use tabs.\n", "a.py": "1\n"})
    log = tmp_path / "agent.log"
    pipe = pipeline(
        tmp_path,
        "  - id: a\n    uses: agent\n    with:\n      agent: fake\n      prompt: go\n"
        "      instructions: Be brief.\n"
        f"      env: {{AGENTPROG_LOG: '{log}', AGENTPROG_EDIT: 'a.py=2'}}\n",
    )
    result, outputs, _ = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.SUCCEEDED, result
    [run] = log_lines(log)
    assert run["claude_md"] == "Use tabs.\n\nBe brief.\n"
    assert outputs["a"]["files"] == ["a.py"]
    branch = outputs["a"]["branch"]
    assert sh_git(tmp_path / "repo", "show", f"{branch}:CLAUDE.md") == "Use tabs.\n"


async def test_the_steps_own_timeout_kills_the_agents_group_too(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    pidfile = tmp_path / "child.pid"
    pipe = pipeline(
        tmp_path,
        "  - id: slow\n    uses: agent\n    timeout: 1\n    with:\n      agent: fake\n"
        f"      prompt: wait\n      env: {{AGENTPROG_HANG: '1', AGENTPROG_CHILD: '{pidfile}'}}\n",
    )
    result, _, _ = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.FAILED
    child = int(pidfile.read_text())
    assert wait_until(lambda: not _alive(child), 10), "the agent's grandchild survived"


def test_capabilities_name_what_an_agent_step_would_do() -> None:
    kind = AgentStep()
    assert kind.capabilities({"agent": "x"}) == {"agent", "write_workspace", "spend", "network"}
    boxed = kind.capabilities({"sandbox": "bwrap"})
    assert boxed == {"agent", "write_workspace", "spend", "sandboxed"}
    assert "network" in kind.capabilities({"sandbox": "bwrap", "network": True})
    assert isinstance(kind, StepKind)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1][0] != "Z"


async def test_no_repository_fails_at_once_saying_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()  # not a git repository
    pipe = pipeline(
        tmp_path,
        "  - id: a\n    uses: agent\n    retry: {attempts: 3, initial_delay: 0}\n"
        "    with: {agent: fake, prompt: go}\n",
    )
    result, _, events = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.FAILED
    failed = [e for e in events if e.type == EventType.STEP_FAILED]
    assert len(failed) == 1 and "not inside a git repository" in json.dumps(failed[0].data)
