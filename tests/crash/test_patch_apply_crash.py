"""SIGKILL of runwright while it commits a patch.apply step, then resume: applied once.

The branch moved and the ledger recorded it, but the step's own result died with the
process (``RUNWRIGHT_FAULT=during_commit:ship``). The resumed attempt finds the patch
applied and reports that commit; the branch gets no second commit.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from clitools import clean_env, cli
from gittools import git, make_repo, state
from patchtools import FILES, FIXED, agent_patch, leftovers
from runwright.store import open_store

PIPELINE = """
name: ship
inputs:
  patch: {type: string}
steps:
  - id: ship
    uses: patch.apply
    with: {patch: "{{ inputs.patch }}"}
"""


def test_killed_while_committing_the_apply_then_resumed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    db = str(tmp_path / "r.db")

    async def seed() -> str:
        store = open_store(db)
        try:
            return (await agent_patch(store, repo, {"calc.py": FIXED})).id
        finally:
            await store.close()

    patch = asyncio.run(seed())
    (tmp_path / "ship.yaml").write_text(PIPELINE)
    base = git(repo, "rev-parse", "HEAD").strip()
    killed = subprocess.run(
        [sys.executable, "-m", "runwright", "--db", db, "run", "ship.yaml", "-i", f"patch={patch}"],
        cwd=tmp_path,
        env={**clean_env(), "RUNWRIGHT_FAULT": "during_commit:ship"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -9, (killed.returncode, killed.stderr)
    applied = git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "rev-parse", "HEAD^").strip() == base  # it acted before it died

    run_id = json.loads(cli(tmp_path, "--db", db, "runs", "--json").stdout)[0]["run_id"]
    resumed = cli(tmp_path, "--db", db, "resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    output = json.loads(cli(tmp_path, "--db", db, "output", run_id, "ship", "--json").stdout)
    assert output == {"patch": patch, "branch": "main", "commit": applied}
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"  # no second commit
    assert state(repo)[2] == "" and leftovers(repo) == []
    shown = json.loads(cli(tmp_path, "--db", db, "patch", "show", patch, "--json").stdout)
    assert (shown["state"], shown["applied_commit"]) == ("applied", applied)
