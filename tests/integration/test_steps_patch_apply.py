"""``uses: patch.apply`` through the engine, on both databases and a real repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from enginetools import Write, run, settings_for

from gittools import git, make_repo, state
from patchtools import FILES, FIXED, agent_patch, leftovers
from runwright.api import Session
from runwright.patches import ledger
from runwright.registry import build_registry
from runwright.settings import Settings
from runwright.states import RunStatus
from runwright.store import open_store

PIPELINE = """
name: ship
inputs:
  patch: {type: string}
  branch: {type: string, default: main}
steps:
  - id: apply
    uses: patch.apply
    with: {patch: "{{ inputs.patch }}", branch: "{{ inputs.branch }}", message: "Fix add()"}
"""


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return settings_for(db_url, tmp_path)


async def _seed(settings: Settings, repo: Path, files: dict[str, str | bytes]) -> str:
    store = open_store(settings.database_url)
    try:
        return (await agent_patch(store, repo, files, run_id="seed")).id
    finally:
        await store.close()


async def test_the_step_applies_the_patch_and_outputs_the_commit(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    patch = await _seed(settings, repo, {"calc.py": FIXED})
    result, _, _ = await run(settings, write("p.yaml", PIPELINE), inputs={"patch": patch[:10]})
    assert result.status == RunStatus.SUCCEEDED, result.error
    async with Session(settings) as s:
        output = await s.output(result.run_id, "apply")
        record = await ledger.get(s.store, patch)
    head = git(repo, "rev-parse", "HEAD").strip()
    assert output == {"patch": patch, "branch": "main", "commit": head}
    assert (record.state, record.applied_commit) == ("applied", head)
    assert record.reason == "applied to main" and record.applied_branch == "main"
    assert git(repo, "log", "-1", "--format=%s") == "Fix add()\n"
    assert (repo / "calc.py").read_text() == FIXED and state(repo)[2] == ""
    # A second run (or a resumed attempt) finds it applied and reports the same commit.
    again, _, _ = await run(settings, write("p.yaml", PIPELINE), inputs={"patch": patch})
    assert again.status == RunStatus.SUCCEEDED
    async with Session(settings) as s:
        assert await s.output(again.run_id, "apply") == output
    assert git(repo, "rev-parse", "HEAD").strip() == head


async def test_a_conflict_fails_the_step_listing_the_files(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    patch = await _seed(settings, repo, {"calc.py": FIXED, "README.md": "calc (fixed)\n"})
    (repo / "calc.py").write_text("def add(a, b):\n    return sum([a, b])\n")
    (repo / "README.md").write_text("calc, by hand\n")
    git(repo, "commit", "-qam", "meanwhile on main")
    before = state(repo)
    result, details, _ = await run(settings, write("p.yaml", PIPELINE), inputs={"patch": patch})
    assert result.status == RunStatus.FAILED
    (step,) = details.steps
    assert step.attempts == 1  # a conflict is not retried
    assert "conflicts with main" in (step.error or "")
    assert "README.md, calc.py" in (step.error or "")
    assert state(repo) == before and leftovers(repo) == []
    async with Session(settings) as s:
        assert (await ledger.get(s.store, patch)).state == "conflicted"


async def test_a_dirty_checkout_fails_the_step_and_is_left_alone(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    patch = await _seed(settings, repo, {"calc.py": FIXED})
    (repo / "calc.py").write_text("# the user's unsaved edit\n")
    before = state(repo)
    result, details, _ = await run(settings, write("p.yaml", PIPELINE), inputs={"patch": patch})
    assert result.status == RunStatus.FAILED
    assert "uncommitted changes (calc.py)" in (details.steps[0].error or "")
    assert state(repo) == before
    assert (repo / "calc.py").read_text() == "# the user's unsaved edit\n"


def test_capabilities_name_what_it_does() -> None:
    kind = build_registry(plugins=False).get("patch.apply")
    assert kind.capabilities({"patch": "x"}) == {"apply_patch", "write_workspace"}  # type: ignore[attr-defined]
    assert kind.requires == {"patch"} and not kind.pure


GATED = """
name: gated
inputs:
  patch: {type: string}
steps:
  - id: implement
    uses: python
    with: {function: "steps:made", args: {patch: "{{ inputs.patch }}"}}
  - id: test
    uses: gate
    needs: [implement]
    with:
      patch: "{{ steps.implement.output.patch }}"
      command: python -c "import calc; assert calc.add(2, 2) == 4"
  - id: ship
    uses: patch.apply
    needs: [test]
    with: {patch: "{{ steps.implement.output.patch }}", message: Fix add()}
"""


async def test_a_gated_patch_is_validated_then_applied(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    store = open_store(settings.database_url)
    try:
        proposed = await agent_patch(store, repo, {"calc.py": FIXED}, validate=False)
    finally:
        await store.close()
    # The pipeline lives in the repository, as an agent pipeline would (an agent step's
    # output would carry the patch id; a python step stands in for it here).
    write("repo/steps.py", "def made(patch):\n    return {'patch': patch}\n")
    git(repo, "add", "steps.py")
    git(repo, "commit", "-qm", "pipeline code")
    result, details, _ = await run(
        settings, write("repo/gated.yaml", GATED), inputs={"patch": proposed.id}
    )
    assert result.status == RunStatus.SUCCEEDED, [s.error for s in details.steps]
    async with Session(settings) as s:
        shipped = await s.output(result.run_id, "ship")
        record = await ledger.get(s.store, proposed.id)
    assert record.state == "applied" and shipped["commit"] == record.applied_commit
    assert (repo / "calc.py").read_text() == FIXED
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""


NOTHING = """
name: nothing
steps:
  - id: implement
    uses: python
    with: {function: "steps:unchanged"}
  - id: ship
    uses: patch.apply
    needs: [implement]
    with: {patch: "{{ steps.implement.output.patch }}"}
"""


async def test_no_patch_means_nothing_to_apply(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    write("repo/steps.py", "def unchanged():\n    return {'patch': None}\n")
    git(repo, "add", "steps.py")
    git(repo, "commit", "-qm", "pipeline code")
    head = git(repo, "rev-parse", "HEAD")
    result, details, _ = await run(settings, write("repo/nothing.yaml", NOTHING))
    assert result.status == RunStatus.SUCCEEDED, [s.error for s in details.steps]
    async with Session(settings) as s:
        assert await s.output(result.run_id, "ship") == {
            "patch": None,
            "branch": None,
            "commit": None,
        }
    assert git(repo, "rev-parse", "HEAD") == head and leftovers(repo) == []


async def test_a_patch_whose_base_the_repository_lacks_is_explained(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    origin = make_repo(tmp_path / "origin", FILES)
    patch = await _seed(settings, origin, {"calc.py": FIXED})
    elsewhere = make_repo(tmp_path / "elsewhere", {"other.txt": "another history\n"})
    store = open_store(settings.database_url)
    try:  # the ledger says the patch belongs to a clone that never saw its base
        async with store.transaction() as tx:
            await tx.update_patch(patch, repo=str(elsewhere))
    finally:
        await store.close()
    before = state(elsewhere)
    result, details, _ = await run(settings, write("p.yaml", PIPELINE), inputs={"patch": patch})
    assert result.status == RunStatus.FAILED
    error = details.steps[0].error or ""
    assert f"patch {patch[:12]} was made on commit" in error and "`git fetch`" in error
    assert state(elsewhere) == before and leftovers(elsewhere) == []
