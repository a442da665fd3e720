"""`runwright explain model` through the real CLI, after real runs against loopback servers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from clitools import clean_env, cli
from llmserver import LLMServer, Reply


@pytest.fixture
def servers() -> Iterator[tuple[LLMServer, LLMServer]]:
    with LLMServer() as a, LLMServer() as b:
        yield a, b


def project(tmp_path: Path, a: LLMServer, b: LLMServer) -> None:
    (tmp_path / "runwright.toml").write_text(
        textwrap.dedent(
            f"""
            [providers.a]
            type = "openai"
            base_url = "{a.openai_url}"
            max_retries = 0
            breaker_threshold = 1
            breaker_cooldown = 600

            [providers.b]
            type = "openai"
            base_url = "{b.openai_url}"
            rpm = 100

            [providers.c]
            type = "anthropic"
            base_url = "{b.url}"
            api_key_env = "C_KEY_NOT_SET_ANYWHERE"

            [models.planner]
            candidates = ["a:big", "b:medium", "c:small"]
            """
        )
    )
    (tmp_path / "p.yaml").write_text(
        "name: ask\nsteps:\n  - {id: plan, uses: llm, with: {model: planner, prompt: hi}}\n"
    )


def test_explain_model_before_and_after_a_breaker_opens(
    tmp_path: Path, servers: tuple[LLMServer, LLMServer]
) -> None:
    a, b = servers
    project(tmp_path, a, b)
    before = cli(tmp_path, "explain", "model", "planner")
    assert before.returncode == 0, before.stderr
    assert "would use: a:big" in before.stdout
    assert "a:big is ranked first and nothing stands in its way" in before.stdout
    assert "ranked below a:big" in before.stdout
    assert "C_KEY_NOT_SET_ANYWHERE is not set" in before.stdout
    assert not (tmp_path / ".runwright").exists()  # explaining creates no database

    a.script(Reply.error(500, "a fell over"))
    run = cli(tmp_path, "run", "p.yaml")
    assert run.returncode == 0, run.stderr
    assert len(a.requests) == 1 and len(b.requests) == 1  # a failed once, b answered

    after = cli(tmp_path, "explain", "model", "planner")
    assert after.returncode == 0, after.stderr
    out = after.stdout
    assert "would use: b:medium" in out
    assert "b:medium is the best-ranked candidate that is usable now (a:big passed over)" in out
    assert "breaker open: breaker open after 1 consecutive failure(s) until" in out
    assert "answered 500: a fell over" in out  # the last error, as the provider said it
    assert "within its rpm/tpm limits" in out

    machine = cli(tmp_path, "explain", "model", "planner", "--json")
    assert machine.returncode == 0, machine.stderr
    data = json.loads(machine.stdout)
    assert data["would_use"] == "b:medium" and data["alias"] == "planner"
    first, second, third = data["candidates"]
    assert first["breaker"] == "open" and not first["usable"]
    assert [r["code"] for r in first["reasons"]] == ["breaker_open"]
    assert first["reasons"][0]["until"] > 0
    assert second["usable"] and second["reasons"] == []
    assert [r["code"] for r in third["reasons"]] == ["lower_rank", "key_missing"]

    # Nothing was sent by explaining: the servers saw only the run's two requests.
    assert len(a.requests) == 1 and len(b.requests) == 1


def test_explain_an_unknown_alias_suggests_the_close_one(
    tmp_path: Path, servers: tuple[LLMServer, LLMServer]
) -> None:
    project(tmp_path, *servers)
    proc = subprocess.run(
        [sys.executable, "-m", "runwright", "explain", "model", "planer"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "did you mean 'planner'?" in proc.stderr


def budget_project(tmp_path: Path, a: LLMServer, b: LLMServer) -> None:
    project(tmp_path, a, b)
    # a:big: $100 per million output tokens, so a call with no max_tokens may cost up to
    # 4096 x $0.0001 = $0.4096; b has no known price, and unknown prices are fatal.
    with (tmp_path / "runwright.toml").open("a") as f:
        f.write(
            textwrap.dedent(
                """
                [prices."a:big"]
                input_per_mtok = 1
                output_per_mtok = 100

                [budgets]
                unknown_price = "error"
                daily_usd = 2.0

                [budgets.pipelines.ask]
                total_usd = 0.9
                """
            )
        )


def budget_rows(db: Path) -> tuple[int, int]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        held = conn.execute("SELECT COUNT(*) FROM reservations").fetchone()[0]
        scopes = conn.execute("SELECT COUNT(*) FROM budget_scopes").fetchone()[0]
    return int(held), int(scopes)


def test_explain_model_says_which_candidates_are_over_budget_after_a_run_spent(
    tmp_path: Path, servers: tuple[LLMServer, LLMServer]
) -> None:
    a, b = servers
    budget_project(tmp_path, a, b)
    before = cli(tmp_path, "explain", "model", "planner", "--pipeline", "ask")
    assert before.returncode == 0, before.stderr
    assert "would use: a:big" in before.stdout
    assert "spent; a call may cost" not in before.stdout
    assert "over budget: no known price for b:medium" in before.stdout
    assert not (tmp_path / ".runwright").exists()  # the budget check creates no database

    # The run spends $0.6 on a:big (6000 output tokens), which fits its own reservation.
    a.script(Reply(text="plan", usage={"input": 0, "output": 6000}))
    run = cli(tmp_path, "run", "p.yaml")
    assert run.returncode == 0, run.stderr
    assert len(a.requests) == 1 and not b.requests
    db = tmp_path / ".runwright" / "runwright.db"
    rows = budget_rows(db)

    # Globally $0.6 of $2 is spent: a:big still fits the daily budget.
    everyone = cli(tmp_path, "explain", "model", "planner")
    assert everyone.returncode == 0, everyone.stderr
    assert "would use: a:big" in everyone.stdout
    assert "spent; a call may cost" not in everyone.stdout

    # The pipeline's own total ($0.9) has no room for another $0.4096.
    mine = cli(tmp_path, "explain", "model", "planner", "--pipeline", "ask")
    assert mine.returncode == 0, mine.stderr
    out = mine.stdout
    assert "would use: none" in out
    assert (
        "over budget: pipeline 'ask' total $0.6 of $0.9 spent; "
        "a call may cost up to $0.4096 (raise [budgets.pipelines.ask] total_usd in runwright.toml)"
        in out
    )
    machine = cli(tmp_path, "explain", "model", "planner", "--pipeline", "ask", "--json")
    data = json.loads(machine.stdout)
    assert data["would_use"] is None
    first, second, _ = data["candidates"]
    assert [r["code"] for r in first["reasons"]] == ["over_budget"]
    assert [r["code"] for r in second["reasons"]] == ["over_budget"]
    assert "no known price" in second["reasons"][0]["detail"]

    # Explaining reserved nothing and created no budget scope; no request was sent.
    assert budget_rows(db) == rows
    assert len(a.requests) == 1 and not b.requests
