"""`runwright schedule` as a real subprocess on SQLite: add, list, pause, remove, bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from clitools import cli

PIPELINE = """\
name: nightly
inputs:
  who: {type: string, default: world}
steps:
  - id: hello
    uses: shell
    with: {run: "echo hello {{ inputs.who }}"}
"""


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def listed(tmp_path: Path) -> Any:
    return json.loads(ok(cli(tmp_path, "--db", "state.db", "schedule", "list", "--json")))


def test_add_list_pause_remove(tmp_path: Path) -> None:
    (tmp_path / "nightly.yaml").write_text(PIPELINE)
    db = ("--db", "state.db")
    added = ok(
        cli(
            tmp_path,
            *db,
            "schedule",
            "add",
            "nightly",
            "nightly.yaml",
            "--cron",
            "*/5 * * * *",
            "--input",
            "who=cron",
            "--tz",
            "Europe/Paris",
            "--catchup",
            "all",
        )
    )
    assert "schedule nightly added; next fire: 20" in added

    [row] = listed(tmp_path)
    assert row["name"] == "nightly"
    assert row["file"] == str((tmp_path / "nightly.yaml").resolve())
    assert (row["cron"], row["tz"], row["catchup"]) == ("*/5 * * * *", "Europe/Paris", "all")
    assert (row["inputs"], row["paused"]) == ({"who": "cron"}, False)
    assert row["next_fire"] % 300 == 0 and row["last_run_id"] is None

    table = ok(cli(tmp_path, *db, "schedule", "list"))
    assert "nightly" in table and ("+01:00" in table or "+02:00" in table)  # ISO, Paris

    assert "schedule nightly paused" in ok(cli(tmp_path, *db, "schedule", "pause", "nightly"))
    assert [r["paused"] for r in listed(tmp_path)] == [True]
    assert "paused" in ok(cli(tmp_path, *db, "schedule", "list"))
    assert "resumed" in ok(cli(tmp_path, *db, "schedule", "resume", "nightly"))
    assert [r["paused"] for r in listed(tmp_path)] == [False]

    assert "removed schedule nightly" in ok(cli(tmp_path, *db, "schedule", "remove", "nightly"))
    assert listed(tmp_path) == []
    gone = cli(tmp_path, *db, "schedule", "remove", "nightly")
    assert gone.returncode == 4
    assert "no schedule 'nightly'" in gone.stderr


def test_bad_input_exits_2_naming_what_to_fix(tmp_path: Path) -> None:
    (tmp_path / "nightly.yaml").write_text(PIPELINE)
    add = ("--db", "state.db", "schedule", "add", "nightly", "nightly.yaml")

    fields = cli(tmp_path, *add, "--cron", "*/5 * * *")
    assert fields.returncode == 2, fields.stderr
    assert "expected 5 fields (minute hour day month weekday), got 4" in fields.stderr

    minute = cli(tmp_path, *add, "--cron", "61 * * * *")
    assert minute.returncode == 2, minute.stderr
    assert "bad minute field '61'; use 0-59" in minute.stderr

    zone = cli(tmp_path, *add, "--cron", "0 9 * * *", "--tz", "Europe/Pari")
    assert zone.returncode == 2, zone.stderr
    assert "did you mean 'Europe/Paris'?" in zone.stderr

    assert "Traceback" not in fields.stderr + minute.stderr + zone.stderr
    assert listed(tmp_path) == []
