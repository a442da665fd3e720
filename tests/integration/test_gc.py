"""``runwright gc``: finished runs' worktrees, branches and records go; unfinished ones stay.

Real runs of the agent step (the test agent program) in a real git repository, on both
databases; real process groups for the orphans.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from storetools import A, claim, seed

from agenttools import agents_toml, make_repo, sh_git, user_state
from clitools import clean_env
from runwright.agents.gc import collect, run_of_branch, run_of_record
from runwright.api import Session
from runwright.api.gc import gc
from runwright.processes import ProcessGroup, describe, members
from runwright.settings import Settings
from runwright.states import RunStatus
from runwright.store.sql_store import SqlStore

AGENT_STEP = """
  - id: implement
    uses: agent
    with: {agent: fake, prompt: "write it", env: {AGENTPROG_EDIT: "src/new.py=x = 2"}}
"""
WAIT_STEP = """
  - id: review
    uses: approval
    needs: [implement]
    with: {prompt: "ship it?"}
"""


def _settings(tmp_path: Path, db_url: str) -> Settings:
    (tmp_path / "runwright.toml").write_text(agents_toml())
    return Settings.from_env(clean_env(), cwd=tmp_path, db=db_url)


async def _run(settings: Settings, repo: Path, name: str, steps: str) -> tuple[str, RunStatus]:
    path = repo / f"{name}.yaml"
    path.write_text(f"name: {name}\nsteps:\n{steps}")
    async with Session(settings) as s:
        result = await s.start_run(path)
    return result.run_id, result.status


def _worktrees(repo: Path) -> list[str]:
    root = repo / ".runwright" / "worktrees"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def _branches(repo: Path) -> list[str]:
    out = sh_git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/runwright/")
    return sorted(out.split())


async def test_gc_removes_finished_runs_leftovers_keeps_unfinished_and_dry_run_touches_nothing(
    tmp_path: Path, db_url: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    settings = _settings(tmp_path, db_url)
    # The waiting run first: an agent would take over a finished run's worktree.
    waiting, waiting_status = await _run(settings, repo, "waiting", AGENT_STEP + WAIT_STEP)
    done, done_status = await _run(settings, repo, "done", AGENT_STEP)
    assert (done_status, waiting_status) == (RunStatus.SUCCEEDED, RunStatus.WAITING)
    before_dirs, before_branches = _worktrees(repo), _branches(repo)
    # Each run left a worktree, its records beside it, and a branch.
    assert any(n.startswith(done) for n in before_dirs)
    assert any(n.startswith(waiting) for n in before_dirs)
    assert {run_of_branch(b) for b in before_branches} == {done, waiting}
    user = user_state(repo)

    async with Session(settings) as s:
        dry = await gc(s, repos=[repo], dry_run=True)
    assert dry.dry_run and dry.errors == []
    assert (_worktrees(repo), _branches(repo)) == (before_dirs, before_branches)
    assert {c.run_id for c in dry.cleaned} == {done}
    assert (dry.count("worktree"), dry.count("branch")) == (1, 1)
    assert dry.count("record") >= 1  # at least the agent's result file
    kept = {(k.kind, k.run_id, k.why) for k in dry.kept}
    assert ("worktree", waiting, "its run is waiting") in kept
    assert ("branch", waiting, "its run is waiting") in kept

    async with Session(settings) as s:
        report = await gc(s, repos=[repo])
    assert report.errors == []
    assert [(c.kind, c.what) for c in report.cleaned] == [(c.kind, c.what) for c in dry.cleaned]
    assert all(n.startswith(waiting) for n in _worktrees(repo))
    assert _worktrees(repo)  # the waiting run's worktree and records are still there
    assert [run_of_branch(b) for b in _branches(repo)] == [waiting]
    assert done not in sh_git(repo, "worktree", "list")
    assert user_state(repo) == user

    # A second pass finds nothing more of the finished run.
    async with Session(settings) as s:
        again = await gc(s, repos=[repo])
    assert again.cleaned == []


async def test_gc_finds_the_repository_from_the_runs_pipeline_and_keeps_unknown_runs(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    settings = _settings(tmp_path, str(tmp_path / "state" / "r.db"))
    run_id, status = await _run(settings, repo, "done", AGENT_STEP)
    assert status is RunStatus.SUCCEEDED
    # A branch of a run this database never saw (another database's, say): kept.
    sh_git(repo, "branch", "runwright/rzzzzzz/implement/1")
    async with Session(settings) as s:
        report = await collect(s.store)  # no repos given: found from the run's pipeline file
    assert report.repos == [str(repo.resolve())]
    assert {c.run_id for c in report.cleaned} == {run_id}
    assert _branches(repo) == ["runwright/rzzzzzz/implement/1"]
    assert [(k.kind, k.why) for k in report.kept] == [("branch", "its run is not in this database")]


def test_run_ids_are_read_from_branch_and_record_names() -> None:
    assert run_of_branch("runwright/rabc123/implement/2-0") == "rabc123"
    assert run_of_branch("main") is None
    assert run_of_record("rabc123-implement-1.result.json") == "rabc123"
    assert run_of_record("notes.txt") is None


# -- orphaned process groups ---------------------------------------------------------------


@pytest.fixture
def groups() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Process groups a test starts; all are SIGKILLed (and reaped) afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _group(groups: list[subprocess.Popen[bytes]]) -> int:
    proc = subprocess.Popen(["sh", "-c", "sleep 300 & wait"], start_new_session=True)
    groups.append(proc)
    deadline = time.monotonic() + 10
    while len(members(proc.pid)) < 2:  # the shell and its sleep
        assert time.monotonic() < deadline, "the group never started"
        time.sleep(0.01)
    return proc.pid


async def _abandoned_with(store: SqlStore, group: ProcessGroup) -> None:
    """Attempt 1 of run r1 started ``group`` under worker w1, then its worker died."""
    await seed(store)
    [a] = await claim(store, "w1")
    async with store.transaction() as tx:
        await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id="w1")
        await tx.record_process(a.id, group.to_json(), worker_id="w1")
    async with store.transaction() as tx:
        await tx.transition(a.id, A.RUNNING, A.ABANDONED, reason="lease expired")


async def test_gc_kills_an_orphaned_group_and_dry_run_only_reports_it(
    store: SqlStore, groups: list[subprocess.Popen[bytes]]
) -> None:
    pgid = _group(groups)
    found = members(pgid)
    await _abandoned_with(store, describe(pgid))
    dry = await collect(store, dry_run=True)
    [would] = [c for c in dry.cleaned if c.kind == "process"]
    assert (would.run_id, would.detail["pgid"], would.detail["members"]) == ("r1", pgid, found)
    assert members(pgid) == found  # a dry run signals nothing

    report = await collect(store)
    [killed] = [c for c in report.cleaned if c.kind == "process"]
    assert killed.detail["attempt_state"] == "abandoned"
    assert killed.detail["signals"][0] == "SIGTERM"
    assert members(pgid) == []
    assert report.errors == []


async def test_gc_leaves_a_group_whose_number_was_reused_and_a_running_attempts_group(
    store: SqlStore, groups: list[subprocess.Popen[bytes]]
) -> None:
    reused = _group(groups)
    real = describe(reused)
    assert real.start is not None
    # The recorded leader started at another time: this live group is someone else's.
    await _abandoned_with(store, dataclasses.replace(real, start=real.start - 1))
    running = _group(groups)
    await seed(store, "r2")
    [a] = await claim(store, "w2")
    async with store.transaction() as tx:
        await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id="w2")
        await tx.record_process(a.id, describe(running).to_json(), worker_id="w2")
    report = await collect(store)
    assert [c for c in report.cleaned if c.kind == "process"] == []
    assert len(members(reused)) == 2 and len(members(running)) == 2


SCRATCH_HOLDER = """
import asyncio, sys
from pathlib import Path
from runwright.patches.apply import _scratch

async def main() -> None:
    async with _scratch(Path(sys.argv[1]), "main", "f" * 64) as wt:
        print(wt.path, flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_gc_removes_a_killed_patch_applys_scratch_tree_and_keeps_a_live_one(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    settings = _settings(tmp_path, str(tmp_path / "state" / "r.db"))
    with subprocess.Popen(
        [sys.executable, "-c", SCRATCH_HOLDER, str(repo)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            scratch = Path(holder.stdout.readline().strip())
            assert scratch.is_dir()
            async with Session(settings) as s:
                live = await collect(s.store, repos=[repo])
            assert [(k.what, k.why) for k in live.kept] == [
                (str(scratch), "a patch apply is using it")
            ]
            assert scratch.is_dir() and live.cleaned == []
        finally:
            holder.send_signal(signal.SIGKILL)
    # Killed mid-apply: its scratch tree, branch and lock file are left behind, and go.
    assert scratch.is_dir() and any(b.startswith("runwright/scratch/") for b in _branches(repo))
    async with Session(settings) as s:
        report = await collect(s.store, repos=[repo])
    assert [(c.kind, c.what, c.detail.get("scratch")) for c in report.cleaned] == [
        ("worktree", str(scratch), True)
    ]
    assert not scratch.exists() and _branches(repo) == [] and _worktrees(repo) == []
