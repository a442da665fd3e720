"""The README's agent example, end to end through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from agenttools import make_repo, require_bwrap, sh_git, user_state
from clitools import cli

TOML = """
[agents.notes-bot]
command = ["sh", "-c", "cat > NOTES.md && echo wrote NOTES.md"]
"""
PIPELINE = """
name: notes
steps:
  - id: write
    uses: agent
    with:
      agent: notes-bot
      prompt: Write the release notes.
      sandbox: bwrap
      scope: {write: [NOTES.md]}
      timeout: 60
"""


def test_the_readme_agent_example_runs_and_leaves_the_users_tree_alone(tmp_path: Path) -> None:
    require_bwrap()
    repo = make_repo(tmp_path, {"README.md": "hello\n"})
    (repo / "runwright.toml").write_text(TOML)
    (repo / "notes.yaml").write_text(PIPELINE)
    before = user_state(repo)
    ran = cli(repo, "run", "notes.yaml")
    assert ran.returncode == 0, ran.stderr
    assert "succeeded" in ran.stdout
    run_id = ran.stdout.split()[1]
    shown = cli(repo, "output", run_id, "write", "--json")
    assert shown.returncode == 0, shown.stderr
    out = json.loads(shown.stdout)
    assert out["text"] == "wrote NOTES.md" and out["files"] == ["NOTES.md"] and out["patch"]
    assert sh_git(repo, "show", f"{out['branch']}:NOTES.md") == "Write the release notes."
    assert user_state(repo) == before
