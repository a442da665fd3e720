"""Costs and budgets of llm steps, through the real engine against the loopback server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clitools import clean_env
from llmserver import LLMServer, Reply
from runwright.api import Session
from runwright.events import EventType
from runwright.settings import Settings
from runwright.states import RunStatus

Write = Callable[[str, str], Path]
PRICED = """
[prices."loop:m"]
input_per_mtok = 1.0
output_per_mtok = 2.0
cached_input_per_mtok = 0.5
"""
ONE = """
name: ask
steps:
  - {id: a, uses: llm, with: {model: "loop:m", prompt: "hello", max_tokens: 50}}
"""


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


def configure(tmp_path: Path, server: LLMServer, extra: str = "") -> Settings:
    (tmp_path / "runwright.toml").write_text(
        f'[providers.loop]\ntype = "openai"\nbase_url = "{server.openai_url}"\ntimeout = 5\n'
        + extra
    )
    return Settings.from_env(clean_env(), cwd=tmp_path, db=str(tmp_path / ".runwright" / "r.db"))


async def start(settings: Settings, path: Path, **kw: Any) -> tuple[Any, dict[str, Any], Any]:
    async with Session(settings) as s:
        result = await s.start_run(path, **kw)
        outputs = {
            a.step_id: await s.store.output(result.run_id, a.step_id, -1)
            for a in (await s.details(result.run_id)).attempts
            if a.state.value in ("succeeded", "cached")
        }
        costs = await s.store.costs(run_id=result.run_id)
    return result, outputs, costs


async def test_cost_is_the_servers_usage_times_the_configured_price(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    server.script(Reply(usage={"input": 1000, "output": 300, "cached": 400}))
    settings = configure(tmp_path, server, PRICED)
    result, outputs, [cost] = await start(settings, write("p.yaml", ONE))
    assert result.status is RunStatus.SUCCEEDED
    # 600 fresh input at $1, 400 cached at $0.5, 300 output at $2 (per million tokens).
    expected = (600 * 1.0 + 400 * 0.5 + 300 * 2.0) / 1e6
    assert outputs["a"]["cost_usd"] == pytest.approx(expected)
    assert (cost.input_tokens, cost.output_tokens, cost.cached_tokens) == (1000, 300, 400)
    assert cost.usd == pytest.approx(expected) and (cost.provider, cost.model) == ("loop", "m")
    async with Session(settings) as s:
        [response] = await s.events(result.run_id, types=[str(EventType.LLM_RESPONSE)])
        [held] = await s.store.reservations(run_id=result.run_id)
    assert response.data["cost_usd"] == pytest.approx(expected)
    assert held.state == "settled" and held.usd == pytest.approx(expected)
    # Reserved the worst case: every prompt byte a token at $1 and 50 output tokens at $2.
    assert held.reserved_usd >= (len("hello") * 1.0 + 50 * 2.0) / 1e6


async def test_an_unknown_price_is_unknown_never_zero(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    settings = configure(tmp_path, server)
    result, outputs, [cost] = await start(settings, write("p.yaml", ONE))
    assert result.status is RunStatus.SUCCEEDED
    assert outputs["a"]["cost_usd"] is None and cost.usd is None
    assert cost.input_tokens == 11  # the tokens are still counted


async def test_unknown_price_error_mode_fails_before_the_call(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    settings = configure(tmp_path, server, '[budgets]\nunknown_price = "error"\n')
    result, _, costs = await start(settings, write("p.yaml", ONE))
    assert result.status is RunStatus.FAILED and costs == []
    assert server.requests == []
    assert "no price is known for loop:m" in (result.error or "")
    assert '[prices."loop:m"]' in (result.error or "")


async def test_local_models_cost_nothing_by_default(tmp_path: Path, server: LLMServer) -> None:
    from runwright.config.models import ProjectConfig, with_builtin_providers
    from runwright.costs.prices import PriceTable

    table = PriceTable(ProjectConfig.model_validate(with_builtin_providers({})))
    local = table.lookup("local", "smollm2")
    assert local is not None and local.input_per_mtok == local.output_per_mtok == 0
    builtin = table.lookup("openai", "gpt-4.1-mini-2025-04-14")
    assert builtin is not None and builtin.input_per_mtok > 0 and "genai-prices" in builtin.source
    assert table.lookup("openai", "no-such-model") is None


async def test_a_budget_stop_happens_before_the_call_and_resume_rechecks(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    tight = PRICED + "[budgets.pipelines.ask]\ntotal_usd = 0.0001\n"
    settings = configure(tmp_path, server, tight)
    path = write(
        "p.yaml",
        """
        name: ask
        steps:
          - {id: a, uses: llm, with: {model: "loop:m", prompt: "hello", max_tokens: 100}}
          - {id: b, uses: llm, needs: [a], with: {model: "loop:m", prompt: "more"}}
        """,
    )
    result, _, costs = await start(settings, path)
    assert result.status is RunStatus.FAILED
    assert server.requests == [] and costs == []  # zero requests seen by the server
    error = result.error or ""
    assert "the call to loop:m was not made" in error and "total_usd" in error
    assert f"runwright resume {result.run_id}" in error
    async with Session(settings) as s:
        attempts = {a.step_id: a for a in await s.store.attempts(result.run_id)}
        assert attempts["a"].number == 1  # a budget error is not retried
    # Raise the budget; resume re-checks and the run finishes.
    raised = configure(tmp_path, server, PRICED + "[budgets.pipelines.ask]\ntotal_usd = 1\n")
    async with Session(raised) as s:
        again = await s.resume(result.run_id)
        costs = await s.store.costs(run_id=result.run_id)
    assert again.status is RunStatus.SUCCEEDED, again.error
    assert len(server.requests) == 2 and [c.step_id for c in costs] == ["a", "b"]


async def test_concurrent_steps_never_spend_past_the_budget_together(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    # Each call may cost up to 10 output tokens at $1,000/M = $0.01 (input is free):
    # the run's $0.035 fits three of them at once. The server is slow so all overlap.
    server.script(*[Reply(delay=0.3, usage={"input": 5, "output": 7}) for _ in range(8)])
    price = '[prices."loop:m"]\ninput_per_mtok = 0\noutput_per_mtok = 1000\n'
    settings = configure(tmp_path, server, price)
    steps = "\n".join(
        f'  - {{id: s{i}, uses: llm, with: {{model: "loop:m", prompt: "p{i}", max_tokens: 10}}}}'
        for i in range(8)
    )
    path = write("p.yaml", f"name: many\nbudget: {{usd: 0.035}}\nsteps:\n{steps}\n")
    result, outputs, costs = await start(settings, path, concurrency=8)
    assert result.status is RunStatus.FAILED
    spent = sum(c.usd or 0 for c in costs)
    assert spent <= 0.035
    assert 1 <= len(costs) < 8 and len(server.requests) == len(costs) == len(outputs)
    async with Session(settings) as s:
        rows = await s.store.reservations(run_id=result.run_id)
    assert not [r for r in rows if r.state == "held"]
    assert "denied" in {r.state for r in rows}


async def test_a_cache_hit_costs_nothing_and_reserves_nothing(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    settings = configure(tmp_path, server, PRICED)
    path = write("p.yaml", ONE)
    first, _, first_costs = await start(settings, path)
    second, _, costs = await start(settings, path)
    assert second.status is RunStatus.SUCCEEDED and len(server.requests) == 1
    assert len(first_costs) == 1 and first_costs[0].run_id == first.run_id
    assert costs == []
    async with Session(settings) as s:
        assert await s.store.reservations(run_id=second.run_id) == []
        details = await s.details(second.run_id)
    assert [str(a.state) for a in details.attempts] == ["cached"]
