"""An agent attempt takes over a worktree nothing needs any more, and starts it clean.

Real git, the real engine and the test agent program, which logs every file it finds
in its working directory when it starts: a recycled tree must look exactly like a
fresh checkout of the attempt's base.
"""

from __future__ import annotations

from pathlib import Path

from agenttools import agents_toml, log_lines, make_repo, sh_git
from clitools import clean_env
from runwright.api import Session
from runwright.settings import Settings
from runwright.states import RunStatus

FILES = {".gitignore": "build/\n", "README.md": "hello\n", "src/app.py": "x = 1\n"}


def _settings(tmp_path: Path, db_url: str) -> Settings:
    (tmp_path / "runwright.toml").write_text(agents_toml())
    return Settings.from_env(clean_env(), cwd=tmp_path, db=db_url)


def _step(step: str, log: Path, edit: str, extra: str = "") -> str:
    return (
        f"  - id: {step}\n    uses: agent\n{extra}"
        f"    with: {{agent: fake, prompt: {step}, "
        f"env: {{AGENTPROG_LOG: '{log}', AGENTPROG_EDIT: '{edit}'}}}}\n"
    )


async def _run(settings: Settings, repo: Path, name: str, steps: str) -> tuple[str, RunStatus]:
    path = repo / f"{name}.yaml"  # not committed: not in the base, so in no tree
    path.write_text(f"name: {name}\nsteps:\n{steps}")
    async with Session(settings) as s:
        result = await s.start_run(path)
    return result.run_id, result.status


def _trees(repo: Path) -> set[str]:
    root = repo / ".runwright" / "worktrees"
    return {p.name for p in root.iterdir() if (p / ".git").is_file()}


def _committed(repo: Path, branch: str, path: str) -> str:
    return sh_git(repo, "show", f"{branch}:{path}")


async def test_a_later_attempt_recycles_a_succeeded_one_and_keeps_a_failed_one(
    tmp_path: Path, db_url: str
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    log = tmp_path / "agent.jsonl"
    once = tmp_path / "failed-once"
    steps = (
        # Changes a tracked file, adds an untracked one and one git ignores.
        _step("first", log, "src/app.py=x = 2;notes.txt=n;build/junk.o=obj")
        + _step("second", log, "second.txt=2", "    needs: [first]\n")
        + _step("third", log, "third.txt=3", "    needs: [second]\n    retry: 2\n")
    )
    steps = steps.replace(
        "AGENTPROG_EDIT: 'third.txt=3'",
        f"AGENTPROG_EDIT: 'third.txt=3', AGENTPROG_FAIL_ONCE: '{once}'",
    )
    run_id, status = await _run(_settings(tmp_path, db_url), repo, "reuse", steps)
    assert status == RunStatus.SUCCEEDED
    runs = log_lines(log)
    assert [Path(r["cwd"]).name for r in runs] == [
        f"{run_id}-first-1",
        f"{run_id}-second-1",
        f"{run_id}-third-1",
        f"{run_id}-third-2",
    ]
    # Each started on exactly its base: nothing the previous agent left, ignored files too.
    for r in runs:
        assert r["tree"] == FILES, r["cwd"]
    # second took over first's tree; third's failed attempt kept its own (with its edit);
    # its second attempt took over second's.
    assert _trees(repo) == {f"{run_id}-third-1", f"{run_id}-third-2"}
    failed = repo / ".runwright" / "worktrees" / f"{run_id}-third-1"
    assert (failed / "third.txt").read_text() == "3\n"
    # The work of the recycled attempts lives on, on their branches.
    assert _committed(repo, f"runwright/{run_id}/first/1", "src/app.py") == "x = 2\n"
    assert _committed(repo, f"runwright/{run_id}/first/1", "notes.txt") == "n\n"
    assert _committed(repo, f"runwright/{run_id}/second/1", "second.txt") == "2\n"
    second_files = sh_git(repo, "diff", "--name-only", "main", f"runwright/{run_id}/second/1")
    assert second_files.split() == ["second.txt"]
    # git knows each tree by its new place: none is left registered where it was.
    listed = sh_git(repo, "worktree", "list", "--porcelain")
    assert f"{run_id}-first-1" not in listed and f"{run_id}-second-1" not in listed


async def test_a_finished_runs_tree_is_recycled_at_the_new_base_and_a_live_runs_never(
    tmp_path: Path, db_url: str
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    settings = _settings(tmp_path, db_url)
    log = tmp_path / "agent.jsonl"
    done, done_status = await _run(settings, repo, "done", _step("a", log, "a.txt=a"))
    (repo / "later.txt").write_text("committed after the first run\n")
    sh_git(repo, "add", "later.txt")
    sh_git(repo, "commit", "-q", "-m", "later")
    approval = "  - id: ok\n    uses: approval\n    needs: [a]\n    with: {prompt: go?}\n"
    live, live_status = await _run(settings, repo, "live", _step("a", log, "b.txt=b") + approval)
    assert (done_status, live_status) == (RunStatus.SUCCEEDED, RunStatus.WAITING)
    # The live run's agent took over the finished run's tree, switched to the new HEAD.
    assert _trees(repo) == {f"{live}-a-1"}
    assert log_lines(log)[1]["tree"] == {**FILES, "later.txt": "committed after the first run\n"}
    assert sh_git(repo, "diff", "--name-only", "main", f"runwright/{live}/a/1").split() == ["b.txt"]
    # A third run finds only the live run's tree, which it must not take.
    third, third_status = await _run(settings, repo, "third", _step("a", log, "c.txt=c"))
    assert third_status == RunStatus.SUCCEEDED
    assert _trees(repo) == {f"{live}-a-1", f"{third}-a-1"}
    kept = repo / ".runwright" / "worktrees" / f"{live}-a-1"
    assert (kept / "b.txt").read_text() == "b\n"
    assert done not in {live, third}
