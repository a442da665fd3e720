"""`runwright gc [--dry-run] [--json]` and the gc a worker does when it starts, end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from agenttools import agents_toml, make_repo, sh_git
from clitools import clean_env, cli, wait_until

PIPELINE = """name: {name}
steps:
  - id: implement
    uses: agent
    with: {{agent: fake, prompt: "write it", env: {{AGENTPROG_EDIT: "src/new.py=x = 2"}}}}
"""


def _project(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    (repo / "runwright.toml").write_text(agents_toml())
    for name in ("first", "second"):
        (repo / f"{name}.yaml").write_text(PIPELINE.format(name=name))
    sh_git(repo, "add", "-A")
    sh_git(repo, "commit", "-q", "-m", "pipelines")
    return repo


def _leftovers(repo: Path) -> list[str]:
    root = repo / ".runwright" / "worktrees"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_gc_dry_run_then_gc_through_the_cli(tmp_path: Path) -> None:
    repo = _project(tmp_path)
    ran = cli(repo, "run", "first.yaml", timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    before = _leftovers(repo)
    assert before

    dry = cli(repo, "gc", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] is True
    assert report["counts"]["worktree"] == 1 and report["counts"]["branch"] == 1
    assert report["repos"] == [str(repo.resolve())]
    assert _leftovers(repo) == before

    text = cli(repo, "gc", "--dry-run")
    assert text.returncode == 0 and "would remove 1 worktree(s), 1 branch(s)" in text.stdout

    done = cli(repo, "gc")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "removed 1 worktree(s), 1 branch(s)" in done.stdout
    assert _leftovers(repo) == []
    assert "runwright/" not in sh_git(repo, "branch", "--list")
    assert "nothing to clean" in cli(repo, "gc").stdout


def test_a_starting_worker_cleans_finished_runs(tmp_path: Path) -> None:
    repo = _project(tmp_path)
    ran = cli(repo, "run", "second.yaml", timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert _leftovers(repo)
    with (tmp_path / "worker.err").open("w") as err:
        worker = subprocess.Popen(
            [sys.executable, "-m", "runwright", "worker", "--concurrency", "1"],
            cwd=repo,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        assert wait_until(lambda: _leftovers(repo) == [], 60), _leftovers(repo)
        assert wait_until(lambda: "gc: removed" in (tmp_path / "worker.err").read_text(), 30)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    assert "runwright/" not in sh_git(repo, "branch", "--list")
