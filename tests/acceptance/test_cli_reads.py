"""Read commands: they create nothing, say where they looked, take global options anywhere,
and their tables stay readable at 80 columns. Approval prompts are shown where decided."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from clitools import cli

ONE_STEP = "name: p\nsteps:\n  - {id: a, uses: shell, with: {run: 'true'}}\n"


def ok(result: subprocess.CompletedProcess[str], code: int = 0) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return " ".join((result.stdout + result.stderr).split())  # unwrapped


def run_json(cwd: Path, *args: str, code: int = 0) -> dict[str, object]:
    result = cli(cwd, *args, "--json")
    assert result.returncode == code, (result.returncode, result.stderr)
    return dict(json.loads(result.stdout.splitlines()[-1]))


# --- 7: reads create nothing and say where they looked -----------------------------------

LISTINGS = [["runs"], ["workers"], ["cache", "stats"], ["cache", "clear"], ["schedule", "list"]]
LOOKUPS = [
    ["show", "r1"],
    ["tail", "r1"],
    ["export", "r1"],
    ["cancel", "r1"],
    ["resume", "r1"],
    ["approve", "r1", "gate"],
    ["reject", "r1", "gate"],
    ["worker", "drain", "w1"],
    ["schedule", "pause", "nightly"],
]


@pytest.mark.parametrize("args", LISTINGS, ids=" ".join)
def test_a_listing_without_a_database_creates_none_and_says_where_it_looked(
    tmp_path: Path, args: list[str]
) -> None:
    text = ok(cli(tmp_path, *args))
    assert str(tmp_path / ".runwright" / "runwright.db") in text
    assert "no database" in text
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", LOOKUPS, ids=" ".join)
def test_a_lookup_without_a_database_exits_4_and_creates_none(
    tmp_path: Path, args: list[str]
) -> None:
    text = ok(cli(tmp_path, *args), 4)
    assert f"no runwright database at {tmp_path / '.runwright' / 'runwright.db'}" in text
    assert "--db" in text and "RUNWRIGHT_DATABASE_URL" in text
    assert list(tmp_path.iterdir()) == []


def test_an_empty_listing_names_the_database(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    (tmp_path / "p.yaml").write_text(ONE_STEP)
    ok(cli(tmp_path, "--db", str(db), "schedule", "add", "s", "p.yaml", "--cron", "0 2 * * *"))
    assert f"no runs yet in {db}" in ok(cli(tmp_path, "--db", str(db), "runs"))


# --- 7: global options after the subcommand ----------------------------------------------


def test_global_options_work_after_the_subcommand(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(ONE_STEP)
    db = tmp_path / "elsewhere.db"
    started = run_json(tmp_path, "run", "p.yaml", "--db", str(db), "--durability", "strict")
    assert started["status"] == "succeeded"
    assert db.exists() and not (tmp_path / ".runwright").exists()
    listed = json.loads(cli(tmp_path, "runs", "--db", str(db), "--json").stdout)
    assert [r["run_id"] for r in listed] == [started["run_id"]]
    assert "0 entries" in ok(cli(tmp_path, "cache", "stats", "--db", str(db)))
    assert started["run_id"] in ok(cli(tmp_path, "show", str(started["run_id"]), "--db", str(db)))
    # After the subcommand wins over before it; the default location still holds nothing.
    shown = cli(
        tmp_path,
        "--db",
        str(tmp_path / "other.db"),
        "show",
        str(started["run_id"]),
        "--db",
        str(db),
    )
    assert shown.returncode == 0, shown.stderr
    bad = cli(tmp_path, "runs", "--durability", "sloppy", "--db", str(db))
    assert "durability must be 'normal' or 'strict'" in ok(bad, 2)


# --- 17: unknown cache kind; tables at 80 columns -----------------------------------------

CACHED = """
name: c
steps:
  - id: a
    uses: shell
    cache: true
    with: {run: "echo cached"}
"""


def test_cache_clear_of_an_unknown_kind_deletes_nothing_and_suggests(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(CACHED)
    ok(cli(tmp_path, "run", "p.yaml"))
    before = run_json(tmp_path, "cache", "stats")
    assert before["entries"] == 1
    text = ok(cli(tmp_path, "cache", "clear", "--kind", "shel"), 2)
    assert "unknown kind 'shel'; did you mean 'shell'?" in text
    assert run_json(tmp_path, "cache", "stats") == before
    assert run_json(tmp_path, "cache", "clear", "--kind", "python") == {"deleted": 0}
    assert run_json(tmp_path, "cache", "clear", "--kind", "shell") == {"deleted": 1}


WORDS = [f"word{i:03d}" for i in range(40)]
FAILING = f"""
name: a-pipeline-with-a-rather-long-name-indeed
steps:
  - id: a-step-with-a-long-identifier
    uses: shell
    with: {{run: "echo {" ".join(WORDS)} >&2; exit 3"}}
"""
CUT_WORD = re.compile(r"^(w|wo|wor|word|word\d*|o?r?d\d+)…?$")


def test_tables_at_80_columns_never_cut_words(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(FAILING)
    run_id = str(run_json(tmp_path, "run", "p.yaml", code=1)["run_id"])
    env = {"COLUMNS": "80"}
    shown = cli(tmp_path, "show", run_id, env=env)
    listed = cli(tmp_path, "runs", env=env)
    table = shown.stdout[shown.stdout.index("\n step ") :]  # the lines above are prose
    for result, rows in ((shown, table), (listed, listed.stdout)):
        assert result.returncode == 0, result.stderr
        assert all(len(line) <= 80 for line in rows.splitlines()), rows
        assert run_id in result.stdout.split(), result.stdout  # never folded nor cut
    assert "a-step-with-a-long-identifier" in table.split()
    assert "a-pipeline-with-a-rather-long-name-indeed" not in listed.stdout  # too wide:
    assert re.search(r" a-pipeline-with[\w-]*… ", listed.stdout), listed.stdout  # marked cut
    tokens = [t for t in table.split() if CUT_WORD.search(t)]
    assert tokens, table
    for token in tokens:  # every word of the error is whole; the last one says it was cut
        assert re.fullmatch(r"word\d{3}…?", token), (token, table)
    assert tokens[-1].endswith("…") or len(tokens) == len(WORDS), table


# --- 15: the approval prompt is shown where it is decided -------------------------------

APPROVAL = """
name: release
steps:
  - id: ship
    uses: approval
    with: {prompt: "Deploy [prod] to production?"}
  - id: after
    uses: shell
    needs: [ship]
    with: {run: "true"}
"""


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_approval_prompt_is_shown_by_run_show_and_the_decision(
    tmp_path: Path, decision: str
) -> None:
    (tmp_path / "p.yaml").write_text(APPROVAL)
    parked = cli(tmp_path, "run", "p.yaml")
    text = ok(parked, 10)
    assert "ship waits for approval: Deploy [prod] to production?" in text
    run_id = re.search(r"runwright approve (\S+) ship", parked.stdout).group(1)  # type: ignore[union-attr]
    shown = ok(cli(tmp_path, "show", run_id))
    assert "ship waits for approval: Deploy [prod] to production?" in shown
    decided = ok(cli(tmp_path, decision, run_id, "ship"), 0 if decision == "approve" else 1)
    assert "ship, which asks: Deploy [prod] to production?" in decided
    assert "waits for approval" not in ok(cli(tmp_path, "show", run_id))
