"""``on_fail: {retry_step, attempts}``: a failing step sends the work back, with feedback.

Python steps stand in for an agent and its gate: ``implement`` records the feedback it
was given, ``check`` fails until ``implement`` has run often enough. Every test runs on
SQLite and on PostgreSQL (``db_url``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from enginetools import Write, run, settings_for

from runwright.api import Session
from runwright.settings import Settings
from runwright.spec.loader import load_spec
from runwright.states import RunStatus

LOOP_PY = """
import json
from pathlib import Path

HERE = Path(__file__).parent

def implement(ctx):
    # One line per attempt: its number and the feedback it was sent back with.
    with open(HERE / "implement.log", "a") as f:
        f.write(json.dumps({"attempt": ctx.attempt, "feedback": ctx.feedback}) + "\\n")
    runs = len((HERE / "implement.log").read_text().splitlines())
    return {"version": runs}

def middle(version):
    with open(HERE / "middle.log", "a") as f:
        f.write(f"{version}\\n")
    return version

def report(version):
    with open(HERE / "report.log", "a") as f:
        f.write(f"{version}\\n")
    return version

def check(version, good):
    # A file can lower the bar between a run and its resume (modules stay imported).
    bar = HERE / "good.txt"
    if version < (int(bar.read_text()) if bar.exists() else good):
        raise ValueError(f"test_add failed: expected 3, got {version} (version {version})")
    return "passed"
"""

SPEC = """
name: loop
inputs:
  good: {{type: integer, default: {good}}}
steps:
  - id: implement
    uses: python
    with: {{function: "loop:implement"}}
  - id: middle
    uses: python
    needs: [implement]
    with: {{function: "loop:middle", args: {{version: "{{{{ steps.implement.output.version }}}}"}}}}
  - id: check
    uses: python
    needs: [middle]
    on_fail: {{retry_step: implement, attempts: {attempts}}}
    with:
      function: "loop:check"
      args: {{version: "{{{{ steps.middle.output }}}}", good: "{{{{ inputs.good }}}}"}}
  - id: after
    uses: shell
    needs: [check]
    with: {{run: "echo done"}}
  - id: report
    uses: python
    needs: [implement, check]
    with: {{function: "loop:report", args: {{version: "{{{{ steps.implement.output.version }}}}"}}}}
"""


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return settings_for(db_url, tmp_path)


def _implement_log(tmp_path: Path) -> list[dict[str, object]]:
    lines = (tmp_path / "implement.log").read_text().splitlines()
    return [json.loads(line) for line in lines]


async def test_the_work_goes_back_with_feedback_until_the_check_passes(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("loop.py", LOOP_PY)
    spec = write("p.yaml", SPEC.format(good=3, attempts=3))
    result, details, events = await run(settings, spec)
    assert result.status is RunStatus.SUCCEEDED
    log = _implement_log(tmp_path)
    assert [e["attempt"] for e in log] == [1, 2, 3]
    assert log[0]["feedback"] is None
    assert "expected 3, got 1" in str(log[1]["feedback"])
    assert "expected 3, got 2" in str(log[2]["feedback"])
    # The steps between ran again each time; the step after the loop once.
    assert (tmp_path / "middle.log").read_text().split() == ["1", "2", "3"]
    by_step: dict[str, list[tuple[int, str, str | None]]] = {}
    for a in details.attempts:
        by_step.setdefault(a.step_id, []).append((a.number, str(a.state), a.reason))
    assert by_step["implement"] == [
        (1, "succeeded", None),
        (2, "succeeded", "gate_failed"),
        (3, "succeeded", "gate_failed"),
    ]
    assert [s for _, s, _ in by_step["check"]] == ["failed", "failed", "succeeded"]
    assert [r for *_, r in by_step["check"]][1:] == ["gate_failed", "gate_failed"]
    assert by_step["after"] == [(1, "succeeded", None)]
    # A step outside the loop that needs steps inside it waits for the loop to pass: each
    # implement that finished released it once, and sending the work back held it again.
    assert (tmp_path / "report.log").read_text().split() == ["3"]
    assert by_step["report"] == [(1, "succeeded", None)]
    sent = [e for e in events if e.type == "step.sent_back"]
    assert [(e.data["loop"], e.data["of"], e.data["retry_step"]) for e in sent] == [
        (1, 3, "implement"),
        (2, 3, "implement"),
    ]
    assert sent[0].data["steps"] == ["implement", "middle", "check"]


async def test_an_exhausted_loop_fails_the_run_saying_so(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("loop.py", LOOP_PY)
    spec = write("p.yaml", SPEC.format(good=10, attempts=2))
    result, details, _ = await run(settings, spec)
    assert result.status is RunStatus.FAILED
    assert [e["attempt"] for e in _implement_log(tmp_path)] == [1, 2, 3]
    assert "on_fail sent the work back to 'implement' 2 times" in str(details.run.error)
    assert "got 3" in str(details.run.error)
    after = [a for a in details.attempts if a.step_id == "after"]
    assert [str(a.state) for a in after] == ["pending"]  # the run stopped before it


async def test_a_resumed_run_keeps_the_loop_count_and_the_feedback(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("loop.py", LOOP_PY)
    spec = write("p.yaml", SPEC.format(good=10, attempts=1))
    result, _, _ = await run(settings, spec)
    assert result.status is RunStatus.FAILED
    # Let the next implement pass the check, then resume: the loop is exhausted, so the
    # resumed check runs once more (a plain resume), and sees version 2 from before.
    write("good.txt", "2")
    async with Session(settings) as s:
        resumed = await s.resume(result.run_id)
        details = await s.details(result.run_id)
    assert resumed.status is RunStatus.SUCCEEDED
    log = _implement_log(tmp_path)
    assert [e["attempt"] for e in log] == [1, 2]
    assert "got 1" in str(log[1]["feedback"])
    check = [a for a in details.attempts if a.step_id == "check"]
    assert [str(a.state) for a in check][-1] == "succeeded"


def test_retry_step_must_be_an_ancestor(write: Write) -> None:
    spec = write(
        "p.yaml",
        """
        name: bad
        steps:
          - id: a
            uses: shell
            with: {run: "true"}
          - id: b
            uses: shell
            with: {run: "true"}
            on_fail: {retry_step: a}
          - id: c
            uses: shell
            with: {run: "true"}
            on_fail: {retry_step: implemnt}
    """,
    )
    with pytest.raises(Exception) as info:
        load_spec(spec)
    text = str(info.value)
    assert "on_fail.retry_step 'a' must be a step that 'b' (transitively) needs" in text
    assert "on_fail.retry_step 'implemnt' is not a step" in text
    assert "p.yaml:" in text
