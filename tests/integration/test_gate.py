"""The gate step on real repositories: pass validates, fail rejects and loops back.

``implement`` is a python step standing in for an agent: in its own worktree it
writes a fix (a wrong one until the gate's feedback says what failed), snapshots it
and proposes it to the ledger, as the agent step does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from enginetools import Write, run, settings_for

from gittools import make_repo, state
from runwright.api import Session
from runwright.patches import ledger
from runwright.settings import Settings
from runwright.states import RunStatus

FAKE_AGENT = """
from pathlib import Path

from runwright.patches import ledger
from runwright.repo.diff import snapshot
from runwright.repo.worktree import branch_name, create


async def implement(ctx, repo):
    repo = Path(repo)
    branch = branch_name(ctx.run_id, ctx.step_id, ctx.attempt)
    wt = await create(repo, base="HEAD", branch=branch, name=f"{ctx.run_id}-{ctx.attempt}")
    fix = "a + b" if ctx.feedback and "add(2, 2)" in ctx.feedback else "a * b + 1"
    (wt.path / "app.py").write_text(f"def add(a, b):\\n    return {fix}\\n")
    diff = await snapshot(wt, "fix add")
    p = await ledger.propose(
        ctx.store, run_id=ctx.run_id, step_id=ctx.step_id, item=None, attempt=ctx.attempt,
        attempt_id=None, agent="fake", repo=repo, base=wt.base, branch=branch, diff=diff,
    )
    return {"patch": p.id, "feedback": ctx.feedback}
"""

CHECK = "python -c 'import app; assert app.add(2, 2) == 4, \\\"add(2, 2) is %s\\\" % app.add(2, 2)'"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return settings_for(db_url, tmp_path)


def _spec(repo: Path, attempts: int) -> str:
    return f"""
name: fix
steps:
  - id: implement
    uses: python
    with: {{function: "agent:implement", args: {{repo: "{repo}"}}}}
  - id: test
    uses: gate
    needs: [implement]
    on_fail: {{retry_step: implement, attempts: {attempts}}}
    with:
      patch: "{{{{ steps.implement.output.patch }}}}"
      commands: ["test -f app.py", "{CHECK}"]
"""


async def test_a_failing_gate_sends_the_work_back_and_a_pass_validates(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "def add(a, b):\n    return a - b\n"})
    before = state(repo)
    write("agent.py", FAKE_AGENT)
    result, details, events = await run(settings, write("p.yaml", _spec(repo, 1)))
    assert result.status is RunStatus.SUCCEEDED, result.error
    async with Session(settings) as s:
        found = await ledger.patches(s.store, run_id=result.run_id)
        final = await s.store.output(result.run_id, "implement", -1)
        gate = await s.store.output(result.run_id, "test", -1)
    assert [p.state for p in found] == ["rejected", "validated"]
    assert str(found[0].reason).startswith("gate failed: `python -c")
    assert "add(2, 2) is 5" in final["feedback"]  # the failing output came back
    assert gate["passed"] is True and [c["exit_code"] for c in gate["commands"]] == [0, 0]
    assert state(repo) == before  # the user's checkout never moved
    assert (repo / "app.py").read_text() == "def add(a, b):\n    return a - b\n"
    types = [e.type for e in events]
    assert types.count("gate.failed") == 1 and types.count("gate.passed") == 1
    tests = [(a.number, str(a.state), a.reason) for a in details.attempts if a.step_id == "test"]
    assert tests == [(1, "failed", None), (2, "succeeded", "gate_failed")]
    # The second gate took over the first's tree (left for the run's next attempt);
    # the fake agent's trees, named its own way, are nobody's to take.
    trees = sorted(p.name for p in (repo / ".runwright" / "worktrees").iterdir() if p.is_dir())
    run_id = result.run_id
    assert trees == sorted([f"{run_id}-1", f"{run_id}-2", f"gate-{run_id}-test-2"])


async def test_a_gate_without_a_patch_and_an_exhausted_loop(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "def add(a, b):\n    return a - b\n"})
    write("agent.py", FAKE_AGENT.replace('"add(2, 2)" in ctx.feedback', "False"))
    result, details, _ = await run(settings, write("p.yaml", _spec(repo, 1)))
    assert result.status is RunStatus.FAILED
    error = str(details.run.error)
    assert "the agent proposed the same change again" in error and "already failed" in error
    assert "on_fail sent the work back to 'implement' once" in error
    spec = write(
        "q.yaml",
        """
        name: nothing
        steps:
          - {id: test, uses: gate, with: {patch: null, command: "true"}}
        """,
    )
    empty, details, _ = await run(settings, spec)
    assert empty.status is RunStatus.FAILED
    assert "there is no patch to gate (the agent changed nothing)" in str(details.run.error)


async def test_a_sandboxed_gate_may_write_only_its_worktree_and_has_no_network(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "def add(a, b):\n    return a - b\n"})
    write("agent.py", FAKE_AGENT)
    outside = repo / "escaped.txt"  # the user's checkout: visible, read-only
    probe = "import socket; s = socket.socket(); s.settimeout(2); s.connect(('127.0.0.1', 5432))"
    spec = write(
        "p.yaml",
        f"""
        name: sandboxed
        trust: intern
        steps:
          - id: implement
            uses: python
            trust: autonomous
            with: {{function: "agent:implement", args: {{repo: "{repo}"}}}}
          - id: test
            uses: gate
            needs: [implement]
            with:
              patch: "{{{{ steps.implement.output.patch }}}}"
              sandbox: bwrap
              commands:
                - "echo inside > built.txt && test -f built.txt"
                - "echo escaped > {outside} || echo 'write refused' >&2"
                - "python3 -c \\"{probe}\\" || echo 'network refused' >&2"
        """,
    )
    result, _, _ = await run(settings, spec)
    assert result.status is RunStatus.SUCCEEDED, result.error  # intern allows sandboxed gates
    assert not outside.exists()
    async with Session(settings) as s:
        out = await s.store.output(result.run_id, "test", -1)
    tails = [c["log_tail"] for c in out["commands"]]
    assert "write refused" in tails[1] and "network refused" in tails[2]
    assert out["commands"][0]["command"].startswith("echo inside")
