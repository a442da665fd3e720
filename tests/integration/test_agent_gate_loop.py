"""An agent, its gate, and the on_fail loop: the gate's failure goes back to the agent."""

from __future__ import annotations

from pathlib import Path

from test_agent_step import configure, pipeline, start

from agenttools import log_lines, make_repo
from runwright.api import Session
from runwright.states import RunStatus


async def test_a_failed_gate_sends_the_agent_back_with_its_output_and_the_retry_passes(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path / "repo")
    log = tmp_path / "agent.log"
    pipe = pipeline(
        tmp_path,
        "  - id: implement\n    uses: agent\n    with:\n      agent: fake\n"
        "      prompt: make good.txt\n"
        f"      env: {{AGENTPROG_LOG: '{log}', AGENTPROG_EDIT: 'bad.txt=1', "
        "AGENTPROG_FEEDBACK_EDIT: 'good.txt=1'}\n"
        "  - id: test\n    uses: gate\n    needs: [implement]\n"
        "    on_fail: {retry_step: implement, attempts: 2}\n"
        "    with:\n      patch: '{{ steps.implement.output.patch }}'\n"
        "      command: test -f good.txt || { echo good.txt is missing; exit 1; }\n",
    )
    settings = configure(tmp_path)
    result, outputs, _ = await start(settings, pipe)
    assert result.status is RunStatus.SUCCEEDED, result
    first, second = log_lines(log)
    prompt = second["argv"][second["argv"].index("-p") + 1]
    assert "sent back" not in first["argv"][first["argv"].index("-p") + 1]
    assert "sent back" in prompt and "good.txt is missing" in prompt
    assert outputs["implement"]["files"] == ["good.txt"]
    assert outputs["test"]["passed"] is True
    async with Session(settings) as s:
        attempts = [
            a for a in (await s.details(result.run_id)).attempts if a.step_id == "implement"
        ]
    assert [a.reason for a in sorted(attempts, key=lambda a: a.number)][1] == "gate_failed"
    # One checkout for the whole loop: each attempt took over the tree the one before it
    # was done with (agent 1 -> gate 1 -> agent 2 -> gate 2), and started clean there:
    # the second agent found none of the first one's bad.txt.
    run_id = result.run_id
    assert "bad.txt" not in second["tree"] and second["tree"] == first["tree"]
    assert (Path(first["cwd"]).name, Path(second["cwd"]).name) == (
        f"{run_id}-implement-1",
        f"{run_id}-implement-2",
    )
    root = tmp_path / "repo" / ".runwright" / "worktrees"
    assert [p.name for p in root.iterdir() if p.is_dir()] == [f"gate-{run_id}-test-2"]
