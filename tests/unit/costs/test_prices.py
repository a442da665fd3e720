"""The price table and the spec's run budget, without a server."""

from __future__ import annotations

import textwrap

import pytest

from runwright.config.models import ProjectConfig, with_builtin_providers
from runwright.costs.policy import SpendPolicy
from runwright.costs.prices import DEFAULT_RESERVE_OUTPUT_TOKENS, PriceTable
from runwright.errors import SpecError
from runwright.providers.base import CompletionRequest, Message, Usage
from runwright.spec import parse_spec


def table(raw: dict[str, object]) -> PriceTable:
    return PriceTable(ProjectConfig.model_validate(with_builtin_providers(raw)))


PROVIDERS = {
    "vllm": {"type": "openai", "base_url": "http://127.0.0.1:8000/v1"},
    "claude": {"type": "anthropic", "base_url": "https://api.anthropic.com"},
}


def test_own_prices_win_then_wildcards_then_local_then_the_builtin_table() -> None:
    t = table(
        {
            "providers": PROVIDERS,
            "prices": {
                "vllm:*": {"input_per_mtok": 0.1, "output_per_mtok": 0.2},
                "vllm:big": {"input_per_mtok": 1, "output_per_mtok": 2},
                "openai:gpt-4.1-mini": {"input_per_mtok": 9, "output_per_mtok": 9},
            },
        }
    )
    big, small = t.lookup("vllm", "big"), t.lookup("vllm", "small")
    assert big is not None and big.input_per_mtok == 1 and 'prices."vllm:big"' in big.source
    assert small is not None and small.input_per_mtok == 0.1 and "vllm:*" in small.source
    own = t.lookup("openai", "gpt-4.1-mini")
    assert own is not None and own.input_per_mtok == 9  # over the built-in price
    haiku = t.lookup("claude", "claude-haiku-4-5")  # the vendor's URL under another name
    assert haiku is not None and haiku.output_per_mtok > haiku.input_per_mtok > 0
    assert t.lookup("nobody", "m") is None


def test_an_openai_compatible_server_elsewhere_has_no_builtin_price() -> None:
    # Same model name as OpenAI's, but served by someone else: unknown, not OpenAI's price.
    t = table({"providers": PROVIDERS})
    assert t.lookup("vllm", "gpt-4.1-mini") is None
    local = t.lookup("local", "anything")
    assert local is not None and local.output_per_mtok == 0


def test_cached_tokens_are_inside_openai_input_and_beside_anthropic_input() -> None:
    prices = {"input_per_mtok": 1, "output_per_mtok": 10, "cached_input_per_mtok": 0.1}
    t = table({"providers": PROVIDERS, "prices": {"vllm:m": prices, "claude:m": prices}})
    usage = Usage(input_tokens=1000, output_tokens=100, cached_tokens=400)
    p = t.lookup("vllm", "m")
    assert p is not None
    assert t.cost("vllm", p, usage) == pytest.approx((600 + 40 + 1000) / 1e6)
    writes = Usage(input_tokens=1000, output_tokens=100, cached_tokens=400, cache_creation_tokens=8)
    assert t.cost("claude", p, writes) == pytest.approx((1000 + 40 + 10 + 1000) / 1e6)


def test_the_worst_case_bounds_any_tokenizer_and_defaults_max_tokens() -> None:
    t = table(
        {"providers": PROVIDERS, "prices": {"vllm:m": {"input_per_mtok": 1, "output_per_mtok": 0}}}
    )
    p = t.lookup("vllm", "m")
    assert p is not None
    text = "héllo wörld " * 10
    request = CompletionRequest("m", (Message("user", text),), max_tokens=5)
    assert t.worst_case(p, request) * 1e6 >= len(text.encode())
    out = table(
        {"providers": PROVIDERS, "prices": {"vllm:m": {"input_per_mtok": 0, "output_per_mtok": 1}}}
    )
    q = out.lookup("vllm", "m")
    assert q is not None
    bare = CompletionRequest("m", (Message("user", "x"),))
    assert out.worst_case(q, bare) * 1e6 == pytest.approx(DEFAULT_RESERVE_OUTPUT_TOKENS)


def test_the_policy_collects_every_budget_that_bounds_a_run() -> None:
    config = ProjectConfig.model_validate(
        with_builtin_providers(
            {
                "budgets": {
                    "daily_usd": 20,
                    "total_usd": 100,
                    "pipelines": {"fix": {"daily_usd": 5, "total_usd": 50}},
                }
            }
        )
    )
    policy = SpendPolicy.build(config=config, pipeline="fix", run_usd=2)
    assert [(lim.scope, lim.usd) for lim in policy.limits] == [
        ("run", 2),
        ("pipeline_day", 5),
        ("pipeline", 50),
        ("day", 20),
        ("total", 100),
    ]
    other = SpendPolicy.build(config=config, pipeline="other", run_usd=None)
    assert [lim.scope for lim in other.limits] == ["day", "total"]


SPEC = """
name: x
budget: BUDGET
steps:
  - {id: a, uses: shell, with: {run: "true"}}
"""


def test_the_spec_takes_a_positive_run_budget_in_usd() -> None:
    ok = parse_spec(textwrap.dedent(SPEC.replace("BUDGET", "{usd: 2.5}")))
    assert ok.pipeline.budget is not None and ok.pipeline.budget.usd == 2.5
    for bad, expected in (
        ("{usd: 0}", "budget.usd: must be greater than 0"),
        ("{usd: -1}", "budget.usd: must be greater than 0"),
        ("{dollars: 5}", "unknown key 'dollars'"),
        ("{usd: lots}", "budget.usd"),
    ):
        with pytest.raises(SpecError) as info:
            parse_spec(textwrap.dedent(SPEC.replace("BUDGET", bad)))
        assert any(expected in p for p in info.value.problems), (bad, info.value.problems)
