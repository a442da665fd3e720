"""`runwright patches` and `runwright patch show|apply|rollback` through the real CLI.

Patches are seeded through the ledger API on a real repository, as an agent step
leaves them; every command then runs as a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clitools import clean_env
from gittools import git, make_repo, state
from patchtools import FILES, FIXED, agent_patch
from runwright.store import open_store
from runwright.store.records_patches import PatchRecord


def rw(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwright", "--db", str(cwd / "r.db"), *args],
        cwd=cwd,
        env={**clean_env(), "RUNWRIGHT_USER": "ana", "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def seed(tmp_path: Path, repo: Path, *changes: dict[str, str | bytes]) -> list[PatchRecord]:
    store = open_store(str(tmp_path / "r.db"))
    try:
        return [
            await agent_patch(store, repo, files, attempt=n, validate=n == 1)
            for n, files in enumerate(changes, 1)
        ]
    finally:
        await store.close()


async def test_list_filter_and_show(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    fix, docs = await seed(tmp_path, repo, {"calc.py": FIXED}, {"README.md": "calc\nmore\n"})
    listed = rw(tmp_path, "patches")
    assert listed.returncode == 0, listed.stderr
    assert fix.id[:12] in listed.stdout and docs.id[:12] in listed.stdout
    assert "validated" in listed.stdout and "proposed" in listed.stdout
    assert "r1/fix#1" in listed.stdout and "gate passed" in listed.stdout
    as_json = json.loads(rw(tmp_path, "patches", "--state", "validated", "--json").stdout)
    assert [p["id"] for p in as_json] == [fix.id]
    assert as_json[0]["files"] == ["calc.py"] and as_json[0]["added"] == 1
    assert json.loads(rw(tmp_path, "patches", "--run", "other", "--json").stdout) == []
    bad = rw(tmp_path, "patches", "--state", "done")
    assert bad.returncode == 2 and "unknown patch state 'done'; use one of proposed" in bad.stderr

    shown = rw(tmp_path, "patch", "show", fix.id[:8])  # piped: plain text
    assert shown.returncode == 0, shown.stderr
    assert f"patch {fix.id}" in shown.stdout and "state:   validated  gate passed" in shown.stdout
    assert "+    return a + b" in shown.stdout and "\x1b[" not in shown.stdout
    coloured = rw(tmp_path, "patch", "show", fix.id[:8], env={"FORCE_COLOR": "1"})
    assert "\x1b[32m+    return a + b" in coloured.stdout
    diff = rw(tmp_path, "patch", "show", fix.id[:8], "--diff").stdout
    assert diff.startswith("diff --git a/calc.py b/calc.py")
    checked = subprocess.run(
        ["git", "apply", "--check"], cwd=repo, input=diff, text=True, capture_output=True
    )
    assert checked.returncode == 0, checked.stderr
    full = json.loads(rw(tmp_path, "patch", "show", fix.id, "--json").stdout)
    assert full["diff"] == diff and full["state"] == "validated"

    missing = rw(tmp_path, "patch", "show", "ffff0000")
    assert missing.returncode == 4 and "no patch 'ffff0000'" in missing.stderr
    assert "`runwright patches` lists them" in missing.stderr


async def test_apply_then_rollback(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    (fix,) = await seed(tmp_path, repo, {"calc.py": FIXED})
    applied = rw(tmp_path, "patch", "apply", fix.id[:10], "-m", "Fix add")
    assert applied.returncode == 0, applied.stderr
    head = git(repo, "rev-parse", "HEAD").strip()
    assert applied.stdout.strip() == f"patch {fix.id[:12]} applied to main as {head[:12]}"
    assert (repo / "calc.py").read_text() == FIXED and state(repo)[2] == ""
    record = json.loads(rw(tmp_path, "patch", "show", fix.id, "--json").stdout)
    assert (record["state"], record["applied_branch"], record["applied_commit"]) == (
        "applied",
        "main",
        head,
    )
    again = rw(tmp_path, "patch", "apply", fix.id)
    assert again.returncode != 0 and f"already on main as {head[:12]}" in again.stderr

    back = rw(tmp_path, "patch", "rollback", fix.id[:10], "--json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["state"] == "rolled_back"
    assert (repo / "calc.py").read_text() == FILES["calc.py"] and state(repo)[2] == ""
    twice = rw(tmp_path, "patch", "rollback", fix.id)
    assert twice.returncode != 0 and "only an applied patch can be rolled back" in twice.stderr


async def test_apply_to_a_branch_accepting_a_proposed_patch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    git(repo, "branch", "release")
    _, docs = await seed(tmp_path, repo, {"calc.py": FIXED}, {"README.md": "calc\nmore\n"})
    refused = rw(tmp_path, "patch", "apply", docs.id, "--branch", "release")
    assert refused.returncode != 0
    assert "is proposed, so it cannot be applied" in refused.stderr and "--accept" in refused.stderr
    before = state(repo)
    done = rw(tmp_path, "patch", "apply", docs.id, "--branch", "release", "--accept", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["applied_branch"] == "release"
    assert state(repo) == before  # the user's checkout (main) is untouched
    assert git(repo, "show", "release:README.md") == "calc\nmore\n"
    store = open_store(str(tmp_path / "r.db"))
    try:
        events = await store.events("r1", limit=100)
    finally:
        await store.close()
    moves = [(e.data["to"], e.data["by"]) for e in events if e.type == "patch.transition"]
    assert moves[-2:] == [("accepted", "ana"), ("applied", "ana")]  # who decided, recorded


async def test_conflicts_and_dirty_checkouts_are_explained(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    (fix,) = await seed(tmp_path, repo, {"calc.py": FIXED})
    (repo / "calc.py").write_text("# unsaved\n")
    dirty = rw(tmp_path, "patch", "apply", fix.id)
    assert dirty.returncode != 0
    assert "branch main is checked out in" in dirty.stderr
    assert "uncommitted changes (calc.py); commit or stash them there" in dirty.stderr
    (repo / "calc.py").write_text("def add(a, b):\n    return sum((a, b))\n")
    git(repo, "commit", "-qam", "another fix")
    conflict = rw(tmp_path, "patch", "apply", fix.id)
    assert conflict.returncode != 0
    assert f"patch {fix.id[:12]} does not apply to main" in conflict.stderr
    assert "in calc.py" in conflict.stderr and "patch show" in conflict.stderr
    assert json.loads(rw(tmp_path, "patches", "--json").stdout)[0]["state"] == "conflicted"
