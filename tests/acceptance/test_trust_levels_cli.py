"""Trust levels through the real CLI: ask, approve, reject, and `[trust]` in `config show`."""

from __future__ import annotations

import json
from pathlib import Path

from clitools import cli

ASKING = """
name: asking
trust: student
on_violation: ask
steps:
  - id: touch
    uses: shell
    with: {run: "echo ran >> touched.txt"}
"""


def _start(tmp_path: Path) -> str:
    (tmp_path / "p.yaml").write_text(ASKING)
    started = cli(tmp_path, "run", "p.yaml")
    assert started.returncode == 10, started.stderr  # 10: waiting for approval
    # What is asked, and how to answer it, is on the screen.
    assert "touch waits for approval: step 'touch' (shell) may not run commands" in started.stdout
    run_id = started.stdout.split()[1]
    assert f"runwright approve {run_id} touch" in started.stdout
    return run_id


def test_an_ask_waits_then_the_approved_step_really_runs(tmp_path: Path) -> None:
    run_id = _start(tmp_path)
    assert not (tmp_path / "touched.txt").exists()
    approved = cli(tmp_path, "approve", run_id, "touch", "--as", "ana")
    assert approved.returncode == 0, approved.stderr
    assert (tmp_path / "touched.txt").read_text() == "ran\n"
    events = cli(tmp_path, "export", run_id)
    assert events.returncode == 0, events.stderr
    decisions = [
        e["data"]["decision"]
        for e in map(json.loads, events.stdout.splitlines())
        if e.get("event_type") == "governance.decision"
    ]
    assert decisions == ["asked", "granted", "granted"]


def test_a_rejected_ask_fails_the_run_and_nothing_ran(tmp_path: Path) -> None:
    run_id = _start(tmp_path)
    rejected = cli(tmp_path, "reject", run_id, "touch", "--as", "ana", "--reason", "not now")
    assert rejected.returncode != 0
    assert "rejected by ana: not now (student trust level)" in rejected.stdout + rejected.stderr
    assert not (tmp_path / "touched.txt").exists()


def test_config_show_lists_the_trust_table_with_its_sources(tmp_path: Path) -> None:
    (tmp_path / "runwright.toml").write_text(
        '[trust]\ndefault = "intern"\n[trust.levels.intern]\nshell = "yes"\n'
        "spend_usd = 2.5\n[trust.graduation]\nepisodes = 5\n"
    )
    shown = cli(tmp_path, "config", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    values = {v["key"]: (v["value"], v["source"]) for v in json.loads(shown.stdout)["values"]}
    assert values["trust.default"] == ("intern", "runwright.toml:2")
    assert values["trust.levels.intern.shell"] == ("yes", "runwright.toml:4")
    assert values["trust.levels.intern.spend_usd"] == (2.5, "runwright.toml:5")
    assert values["trust.graduation.episodes"] == (5, "runwright.toml:7")
    assert values["trust.graduation.min_pass_rate"] == (0.8, "default")


def test_a_misspelt_level_in_the_config_is_located_with_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "runwright.toml").write_text('[trust.levels.supervisd]\nshell = "yes"\n')
    shown = cli(tmp_path, "config", "show")
    assert shown.returncode != 0
    assert "runwright.toml:1:2: trust.levels.supervisd:" in shown.stderr
    assert "did you mean 'supervised'?" in shown.stderr
