"""A trust level's ``spend_usd`` is a budget of the run, enforced by the spend guard.

Against the loopback server: a refused call never reaches it, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from enginetools import Write

from clitools import clean_env
from llmserver import LLMServer, Reply
from runwright.api import Session
from runwright.api.results import RunResult
from runwright.settings import Settings
from runwright.states import RunStatus

PRICED = """
[prices."loop:m"]
input_per_mtok = 1.0
output_per_mtok = 2.0
"""


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


def _settings(tmp_path: Path, server: LLMServer, db_url: str, extra: str) -> Settings:
    (tmp_path / "runwright.toml").write_text(
        f'[providers.loop]\ntype = "openai"\nbase_url = "{server.openai_url}"\ntimeout = 5\n'
        + PRICED
        + extra
    )
    return Settings.from_env(clean_env(), cwd=tmp_path, db=db_url)


async def _run(settings: Settings, path: Path) -> tuple[RunResult, list[str]]:
    async with Session(settings) as s:
        result = await s.start_run(path)
        costs = [c.step_id for c in await s.store.costs(run_id=result.run_id)]
    return result, costs


async def test_a_levels_spend_limit_stops_the_call_before_it_is_made(
    tmp_path: Path, write: Write, server: LLMServer, db_url: str
) -> None:
    settings = _settings(tmp_path, server, db_url, "[trust.levels.student]\nspend_usd = 0.00001\n")
    path = write(
        "p.yaml",
        """
        name: think
        trust: student
        steps:
          - {id: a, uses: llm, with: {model: "loop:m", prompt: "hello", max_tokens: 50}}
        """,
    )
    result, costs = await _run(settings, path)
    assert result.status is RunStatus.FAILED
    assert server.requests == [] and costs == []  # zero requests reached the server
    error = str(result.error)
    assert "the call to loop:m was not made" in error
    assert "trust level 'student' (of step 'a'), which allows $1e-05 per run" in error
    assert "[trust.levels.student] spend_usd" in error


async def test_the_limit_counts_what_the_whole_run_spent(
    tmp_path: Path, write: Write, server: LLMServer, db_url: str
) -> None:
    # Step a (autonomous: unbounded) spends $0.0018; step b is a student allowed $0.0015 a
    # run: b's own call would fit, the run's spending does not.
    server.script(Reply(usage={"input": 1000, "output": 400}))
    settings = _settings(tmp_path, server, db_url, "[trust.levels.student]\nspend_usd = 0.0015\n")
    path = write(
        "p.yaml",
        """
        name: think
        steps:
          - {id: a, uses: llm, with: {model: "loop:m", prompt: "hello", max_tokens: 50}}
          - {id: b, uses: llm, needs: [a], trust: student,
             with: {model: "loop:m", prompt: "more", max_tokens: 50}}
        """,
    )
    result, costs = await _run(settings, path)
    assert result.status is RunStatus.FAILED
    assert len(server.requests) == 1 and costs == ["a"]
    assert "step 'b': the call to loop:m was not made" in str(result.error)


async def test_autonomous_has_no_spend_limit_of_its_own(
    tmp_path: Path, write: Write, server: LLMServer, db_url: str
) -> None:
    server.script(Reply(usage={"input": 1000, "output": 400}))
    settings = _settings(tmp_path, server, db_url, "[trust.levels.student]\nspend_usd = 0.00001\n")
    path = write(
        "p.yaml",
        """
        name: think
        trust: autonomous
        steps:
          - {id: a, uses: llm, with: {model: "loop:m", prompt: "hello", max_tokens: 50}}
        """,
    )
    result, costs = await _run(settings, path)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert len(server.requests) == 1 and costs == ["a"]
