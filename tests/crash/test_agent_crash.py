"""SIGKILL ``runwright run`` during an agent step, then ``runwright resume``.

Killed during the step's commit (the agent had finished: its result is on disk),
the resumed attempt records that result and never runs the agent again. Killed
while the agent runs, the agent dies with runwright (the watchdog), and the
resumed attempt runs it again, continuing the same session.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from agenttools import agents_toml, log_lines, make_repo, user_state
from clitools import clean_env, cli, wait_until
from runwright.errors import NotFoundError
from runwright.events import EventType
from runwright.store import open_store


def setup(tmp_path: Path, env: str) -> tuple[Path, Path]:
    repo = make_repo(tmp_path / "repo")
    (tmp_path / "runwright.toml").write_text(agents_toml())
    pipe = tmp_path / "pipeline.yaml"
    pipe.write_text(
        "name: crash\nsteps:\n"
        "  - id: implement\n    uses: agent\n    with:\n"
        f"      agent: fake\n      prompt: do it\n      repo: repo\n      env: {env}\n"
        "  - {id: after, needs: [implement], uses: shell, with: {run: 'echo after'}}\n"
    )
    return repo, pipe


def read_run(db: str) -> tuple[str, list[Any], Any]:
    async def read() -> tuple[str, list[Any], Any]:
        store = open_store(db)
        try:
            [run] = await store.list_runs()
            events = await store.events(run.id)
            try:
                output = await store.output(run.id, "implement", -1)
            except NotFoundError:
                output = None
            return run.id, events, output
        finally:
            await store.close()

    return asyncio.run(read())


def test_killed_after_the_agent_finished_resume_records_its_result_without_a_rerun(
    tmp_path: Path,
) -> None:
    log = tmp_path / "agent.log"
    repo, _ = setup(tmp_path, f"{{AGENTPROG_LOG: '{log}', AGENTPROG_COST: '0.02'}}")
    before = user_state(repo)
    db = str(tmp_path / ".runwright" / "runwright.db")
    proc = cli(tmp_path, "run", "pipeline.yaml", env={"RUNWRIGHT_FAULT": "during_commit:implement"})
    assert proc.returncode == -9, (proc.returncode, proc.stderr)
    assert len(log_lines(log)) == 1
    run_id, _, _ = read_run(db)
    resumed = cli(tmp_path, "resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    # One agent run in all: the resumed attempt found the result on disk.
    assert len(log_lines(log)) == 1
    _, events, output = read_run(db)
    [recovered] = [e for e in events if e.type == EventType.AGENT_RECOVERED]
    assert recovered.attempt == 2 and recovered.data["exit_code"] == 0
    assert output["files"] == ["agent.txt"] and output["patch"]
    assert output["cost_usd"] == 0.02 and output["branch"].endswith("/implement/1")
    assert user_state(repo) == before


def test_killed_while_the_agent_runs_resume_runs_it_again_in_the_same_session(
    tmp_path: Path,
) -> None:
    log = tmp_path / "agent.log"
    go = tmp_path / "go"
    # The first run waits for a file that never comes; the re-run finds it there.
    claude = tmp_path / "claude"
    env = f"{{AGENTPROG_LOG: '{log}', AGENTPROG_WAIT_FOR: '{go}', CLAUDE_CONFIG_DIR: '{claude}'}}"
    _, _ = setup(tmp_path, env)
    db = str(tmp_path / ".runwright" / "runwright.db")
    runner = subprocess.Popen(
        [sys.executable, "-m", "runwright", "run", "pipeline.yaml"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: len(log_lines(log)) == 1, 30), "the agent never started"
        [first] = log_lines(log)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(10)
    finally:
        if runner.poll() is None:
            runner.kill()
    # The watchdog kills the agent with its runner.
    assert wait_until(lambda: not _alive(first["pid"]), 10), "the agent outlived runwright"
    go.write_text("go\n")
    run_id, _, _ = read_run(db)
    resumed = cli(tmp_path, "resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    _, second = log_lines(log)
    session = first["argv"][first["argv"].index("--session-id") + 1]
    assert second["argv"][second["argv"].index("--resume") + 1] == session
    # What the killed agent had said is there for the new one, in its own worktree.
    assert [h["message"] for h in second["history"]] == ["do it"]
    assert second["cwd"] != first["cwd"]
    _, _, output = read_run(db)
    assert output["session_id"] == session and output["branch"].endswith("/implement/2")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1][0] != "Z"
