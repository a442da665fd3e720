"""`runwright trust` and `trust promote` through the real CLI, on a seeded patch ledger."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from clitools import cli

SPEC = """
name: seed
steps:
  - {id: a, uses: shell, trust: autonomous, with: {run: "true"}}
"""

#: (agent, state, reason) of the seeded patches.
PATCHES = [
    *[("aider", "applied", None)] * 8,
    ("aider", "rejected", "gate failed: 1 of 1 commands failed"),
    ("aider", "rolled_back", "rolled back by ana"),
    ("claude-code", "validated", None),
    ("claude-code", "rejected", "scope: touches secrets.txt, outside write: [src/**]"),
]


def _seed(db: Path) -> None:
    con = sqlite3.connect(db)
    now = time.time()
    for n, (agent, state, reason) in enumerate(PATCHES):
        con.execute(
            "INSERT INTO patches (id, run_id, step_id, item, attempt, agent, repo, base, files,"
            " added, removed, diff_blob, state, reason, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                f"p{n:02d}",
                "r1",
                "implement",
                -1,
                n + 1,
                agent,
                "/repo",
                "b" * 40,
                "[]",
                1,
                0,
                "d" * 64,
                state,
                reason,
                now,
                now,
            ),
        )
    con.commit()
    con.close()


def test_records_promotion_and_graduation(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(SPEC)
    (tmp_path / "runwright.toml").write_text(
        '[trust]\ndefault = "intern"\n[trust.graduation]\nepisodes = 5\nmin_pass_rate = 0.8\n'
        "max_intervention_rate = 0.2\n"
    )
    assert cli(tmp_path, "run", "p.yaml").returncode == 0
    _seed(tmp_path / ".runwright" / "runwright.db")

    shown = cli(tmp_path, "trust", "--json")
    assert shown.returncode == 0, shown.stderr
    by_agent = {r["agent"]: r for r in json.loads(shown.stdout)}
    aider = by_agent["aider"]
    assert (aider["patches"], aider["gated"], aider["passed"]) == (10, 10, 9)
    assert aider["pass_rate"] == 0.9 and aider["intervention_rate"] == 0.1
    assert (aider["level"], aider["level_source"]) == ("intern", "[trust] default")
    assert aider["next_level"] == "supervised" and aider["eligible"] is True
    claude = by_agent["claude-code"]
    assert claude["out_of_scope"] == 1 and claude["eligible"] is False
    assert "2 of 5 patches" in claude["shortfalls"]

    table = cli(tmp_path, "trust")
    assert "ready for supervised" in table.stdout and "claude-code" in table.stdout

    promoted = cli(tmp_path, "trust", "promote", "aider", "supervised", "--as", "ana", "--json")
    assert promoted.returncode == 0, promoted.stderr
    assert json.loads(promoted.stdout)["by"] == "ana"
    after = {r["agent"]: r for r in json.loads(cli(tmp_path, "trust", "--json").stdout)}
    assert (after["aider"]["level"], after["aider"]["level_source"]) == (
        "supervised",
        "promoted by ana",
    )
    assert after["aider"]["next_level"] == "autonomous"


def test_a_promotion_to_an_unknown_level_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(SPEC)
    assert cli(tmp_path, "run", "p.yaml").returncode == 0
    bad = cli(tmp_path, "trust", "promote", "aider", "supervisd")
    assert bad.returncode == 2
    assert "unknown trust level 'supervisd'; did you mean 'supervised'?" in bad.stderr
    listing = json.loads(cli(tmp_path, "trust", "--json").stdout)
    assert listing == []  # nothing was recorded


def test_trust_without_a_database_creates_none(tmp_path: Path) -> None:
    shown = cli(tmp_path, "trust")
    assert shown.returncode == 0 and "no trust records: there is no database" in shown.stdout
    assert not (tmp_path / ".runwright").exists()
