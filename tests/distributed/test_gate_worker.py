"""A gate runs on another worker process than the agent whose patch it judges.

Labels send the agent step to one `runwright worker` and the gate to another, on
one PostgreSQL database: the gate gets the diff, the base and the repository from
the store, never from the agent's worktree (which is removed before the gate runs).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from workertools import Workers, enqueue, run_status

from clitools import cli, wait_until
from gittools import make_repo
from runwright.store import open_store

FIXER = """
import shutil, sys
from pathlib import Path
sys.stdin.read()
Path("calc.py").write_text("def add(a, b):\\n    return a + b\\n")
print("fixed")
"""


async def _holders(db: str, run_id: str) -> dict[str, str]:
    store = open_store(db)
    try:
        return {
            a.step_id: a.worker_id or ""
            for a in await store.attempts(run_id)
            if str(a.state) == "succeeded"
        }
    finally:
        await store.close()


@pytest.mark.slow
def test_the_gate_runs_on_another_worker_from_the_store(
    tmp_path: Path, pg_workers: Workers
) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "calc.py": "def add(a, b):\n    return a - b\n",
            "test_calc.py": "from calc import add\nassert add(2, 3) == 5, add(2, 3)\n",
        },
    )
    (tmp_path / "fixer.py").write_text(FIXER)
    (repo / "runwright.toml").write_text(
        f'[agents.fixer]\ncommand = ["{sys.executable}", "{tmp_path / "fixer.py"}"]\n'
    )
    (repo / "p.yaml").write_text(
        textwrap.dedent(
            """
            name: split
            steps:
              - id: implement
                uses: agent
                labels: [agents]
                with: {agent: fixer, prompt: "fix add"}
              - id: test
                uses: gate
                needs: [implement]
                labels: [gates]
                with:
                  patch: "{{ steps.implement.output.patch }}"
                  command: "python3 test_calc.py"
            """
        )
    )
    db = pg_workers.db
    run_id = enqueue(repo, db, repo / "p.yaml")
    agents = pg_workers.start("--label", "agents", "--no-scheduler", name="agents")
    assert wait_until(lambda: "implement" in asyncio.run(_holders(db, run_id)), 60), pg_workers.log(
        agents
    )
    # The agent's worktree is gone: whatever the gate uses must come from the store.
    shutil.rmtree(repo / ".runwright" / "worktrees")
    gates = pg_workers.start("--label", "gates", "--no-scheduler", name="gates")
    assert wait_until(lambda: asyncio.run(run_status(db, run_id)) == "succeeded", 60), (
        pg_workers.log(gates)
    )
    holders = asyncio.run(_holders(db, run_id))
    assert holders["implement"] and holders["test"] and holders["implement"] != holders["test"]
    listed = json.loads(cli(repo, "--db", db, "patches", "--run", run_id, "--json").stdout)
    assert [p["state"] for p in listed] == ["validated"]
