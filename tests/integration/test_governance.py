"""Trust levels end to end through runwright.api, on SQLite and PostgreSQL.

A step beyond its level never acts (a side-effect file stays absent), ``on_violation:
ask`` waits for a person and then really runs, a level's spending cap is one more
budget, and every decision is a ``governance.decision`` event.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from enginetools import Write, run, settings_for

from runwright.api import Session
from runwright.config import load_config
from runwright.settings import Settings
from runwright.states import RunStatus


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return settings_for(db_url, tmp_path)


def _spec(trust: str, *, on_violation: str = "fail", step_trust: str | None = None) -> str:
    own = f"\n    trust: {step_trust}" if step_trust else ""
    return f"""
name: governed
trust: {trust}
on_violation: {on_violation}
steps:
  - id: wait
    uses: approval
    with: {{prompt: "go?"}}
  - id: touch
    uses: shell
    needs: [wait]{own}
    with: {{run: "echo ran >> touched.txt"}}
"""


async def _approve(settings: Settings, run_id: str, step: str) -> None:
    async with Session(settings) as s:
        await s.decide(run_id, step, approve=True, by="ana")


async def test_a_step_beyond_its_level_fails_before_it_acts(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    spec = write("p.yaml", _spec("student"))
    result, _, _ = await run(settings, spec)
    assert result.status is RunStatus.WAITING  # approval steps are allowed to a student
    await _approve(settings, result.run_id, "wait")
    async with Session(settings) as s:
        details = await s.details(result.run_id)
        events = await s.store.events(result.run_id, types=["governance.decision"])
    assert details.run.status is RunStatus.FAILED
    assert not (tmp_path / "touched.txt").exists()
    error = str(details.run.error)
    assert "step 'touch' (shell) may not run commands or write files or reach the network" in error
    assert "at trust level 'student' (set by the pipeline's trust)" in error
    assert "on_violation: ask" in error and "runwright trust promote" in error
    touch = [a for a in details.attempts if a.step_id == "touch"]
    assert [str(a.state) for a in touch] == ["failed"]  # a refusal is never retried
    decisions = {(e.step_id, e.data["decision"]) for e in events}
    assert decisions == {("wait", "allowed"), ("touch", "denied")}


async def test_ask_waits_for_a_person_and_then_the_step_runs(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    spec = write("p.yaml", _spec("student", on_violation="ask"))
    result, _, _ = await run(settings, spec)
    await _approve(settings, result.run_id, "wait")
    async with Session(settings) as s:
        details = await s.details(result.run_id)
    assert details.run.status is RunStatus.WAITING
    assert not (tmp_path / "touched.txt").exists()
    await _approve(settings, result.run_id, "touch")
    assert (tmp_path / "touched.txt").read_text() == "ran\n"
    async with Session(settings) as s:
        details = await s.details(result.run_id)
        events = await s.store.events(result.run_id, types=["governance.decision"], step_id="touch")
    assert details.run.status is RunStatus.SUCCEEDED
    touch = [(a.number, a.reason) for a in details.attempts if a.step_id == "touch"]
    assert touch == [(1, None), (2, "approved")]
    assert [e.data["decision"] for e in events] == ["asked", "granted", "granted"]
    assert events[1].data["by"] == "ana" and events[1].data["attempt"] == 2


async def test_a_rejected_ask_fails_the_step_without_acting(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    spec = write("p.yaml", _spec("intern", on_violation="ask"))
    result, _, _ = await run(settings, spec)
    await _approve(settings, result.run_id, "wait")
    async with Session(settings) as s:
        done = await s.decide(result.run_id, "touch", approve=False, by="ana", note="no")
    assert done.status is RunStatus.FAILED
    assert "rejected by ana: no (intern trust level)" in str(done.error)
    assert not (tmp_path / "touched.txt").exists()


async def test_a_step_level_overrides_the_pipeline_level(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    spec = write("p.yaml", _spec("student", step_trust="supervised"))
    result, _, _ = await run(settings, spec)
    await _approve(settings, result.run_id, "wait")
    assert (tmp_path / "touched.txt").read_text() == "ran\n"


async def test_config_sets_the_default_and_overrides_the_table(
    db_url: str, write: Write, tmp_path: Path
) -> None:
    write(
        "runwright.toml",
        """
        [trust]
        default = "intern"
        [trust.levels.intern]
        shell = "yes"
        network = true
        """,
    )
    spec = write(
        "p.yaml",
        """
        name: configured
        steps:
          - id: touch
            uses: shell
            with: {run: "echo ran >> touched.txt"}
        """,
    )
    settings = replace(
        settings_for(db_url, tmp_path), config=load_config(tmp_path / "runwright.toml")
    )
    result, _, events = await run(settings, spec)
    assert result.status is RunStatus.SUCCEEDED
    decision = next(e for e in events if e.type == "governance.decision")
    assert decision.data["level"] == "intern" and decision.data["set_by"] == "[trust] default"
