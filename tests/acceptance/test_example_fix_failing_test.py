"""examples/fix-failing-test through the real CLI: agent, gate loop, approval, apply.

A deterministic agent (a ``command`` preset running a small fixer script) makes a
wrong fix first and the right one once the gate's feedback reaches its prompt, so
every mechanism of the example runs for real: worktrees, the ledger, the gate and
its loop, the approval and the apply to the checked-out branch.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clitools import cli
from gittools import git

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fix-failing-test"

FIXER = """
import sys
prompt = sys.stdin.read()
fix = "a + b" if "gate failed" in prompt else "a * b"
with open("calc.py", "w") as f:
    f.write(f"def add(a, b):\\n    return {fix}\\n")
print(f"changed add to return {fix}")
"""


def _project(tmp_path: Path) -> Path:
    repo = tmp_path / "demo"
    made = subprocess.run(
        [str(EXAMPLE / "new-project"), str(repo)], capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    (tmp_path / "fixer.py").write_text(FIXER)
    with (repo / "runwright.toml").open("a") as f:
        f.write(f'\n[agents.fixer]\ncommand = ["{sys.executable}", "{tmp_path / "fixer.py"}"]\n')
    git(repo, "commit", "-qam", "a deterministic agent for the test")
    return repo


def test_the_example_fixes_the_test_after_one_loop_and_applies_on_approval(
    tmp_path: Path,
) -> None:
    repo = _project(tmp_path)
    head = git(repo, "rev-parse", "HEAD").strip()
    started = cli(repo, "run", "pipeline.yaml", "--input", "agent=fixer", "--json", timeout=180)
    assert started.returncode == 10, started.stdout + started.stderr  # waits for approval
    run_id = json.loads(started.stdout)["run_id"]
    # Nothing touched the user's checkout so far: same HEAD, clean tree.
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "status", "--porcelain") == ""
    patches = json.loads(cli(repo, "patches", "--run", run_id, "--json").stdout)
    assert [p["state"] for p in patches] == ["rejected", "validated"]
    assert patches[0]["reason"].startswith("gate failed")
    shown = json.loads(cli(repo, "show", run_id, "--json").stdout)
    implement = [a for a in shown["attempts"] if a["step_id"] == "implement"]
    assert [a["reason"] for a in implement] == [None, "gate_failed"]
    approved = cli(repo, "approve", run_id, "review", "--as", "ana", timeout=120)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "return a + b" in (repo / "calc.py").read_text()
    assert git(repo, "rev-parse", "HEAD").strip() != head  # main moved forward
    tests = subprocess.run(
        [sys.executable, "-m", "unittest", "-q"], cwd=repo, capture_output=True, text=True
    )
    assert tests.returncode == 0, tests.stderr
    final = json.loads(cli(repo, "patches", "--run", run_id, "--json").stdout)
    assert [p["state"] for p in final] == ["rejected", "applied"]


def test_new_project_refuses_an_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    made = subprocess.run(
        [str(EXAMPLE / "new-project"), str(tmp_path / "taken")], capture_output=True, text=True
    )
    assert made.returncode == 2 and "already exists" in made.stderr
