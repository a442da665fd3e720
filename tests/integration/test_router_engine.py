"""The llm step routes through the engine: fallback events, the answering provider, the cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clitools import clean_env
from llmserver import LLMServer, Reply
from runwright.api import Session
from runwright.events import EventType, Level
from runwright.settings import Settings
from runwright.states import RunStatus

Write = Callable[[str, str], Path]


@pytest.fixture
def servers() -> Iterator[tuple[LLMServer, LLMServer]]:
    with LLMServer() as a, LLMServer() as b:
        yield a, b


def settings(tmp_path: Path, a: LLMServer, b: LLMServer, second: str = "b:second") -> Settings:
    (tmp_path / "runwright.toml").write_text(
        f"""
[providers.a]
type = "openai"
base_url = "{a.openai_url}"
max_retries = 1
backoff = 0.01

[providers.b]
type = "anthropic"
base_url = "{b.url}"

[models.m]
candidates = ["a:first", "{second}"]
"""
    )
    return Settings.from_env(clean_env(), cwd=tmp_path, db=str(tmp_path / "r.db"))


PIPELINE = """
name: ask
steps:
  - {id: plan, uses: llm, with: {model: m, prompt: hi}}
"""


async def test_a_step_falls_back_and_says_so_in_its_events(
    tmp_path: Path, write: Write, servers: tuple[LLMServer, LLMServer]
) -> None:
    a, b = servers
    path = write("p.yaml", PIPELINE)
    a.script(Reply.error(502, "bad gateway"), Reply.error(502, "bad gateway"))
    async with Session(settings(tmp_path, a, b)) as s:
        result = await s.start_run(path)
        assert result.status is RunStatus.SUCCEEDED, result.error
        events = await s.events(result.run_id, limit=1000)
        output = await s.store.output(result.run_id, "plan", -1)
    assert output["provider"] == "b" and output["text"] == "echo: hi"
    [fallback] = [e for e in events if e.type is EventType.LLM_FALLBACK]
    assert fallback.level is Level.WARNING and fallback.step_id == "plan"
    assert fallback.data["provider"] == "a" and fallback.data["reason"] == "failed"
    assert fallback.data["next"] == "b:second" and fallback.data["tries"] == 2
    requests = [e.data["provider"] for e in events if e.type is EventType.LLM_REQUEST]
    assert requests == ["a", "a", "b"]
    [response] = [e for e in events if e.type is EventType.LLM_RESPONSE]
    assert response.data["provider"] == "b"


async def test_the_cache_key_covers_every_candidate_of_an_alias(
    tmp_path: Path, write: Write, servers: tuple[LLMServer, LLMServer]
) -> None:
    a, b = servers
    path = write("p.yaml", PIPELINE)
    async with Session(settings(tmp_path, a, b)) as s:
        assert (await s.start_run(path)).status is RunStatus.SUCCEEDED
        hit = await s.start_run(path)
        hit_events = await s.events(hit.run_id, limit=1000)
    assert len(a.requests) == 1  # the second run was served from the cache
    assert any(e.type is EventType.CACHE_HIT for e in hit_events)
    # Another fallback candidate may answer differently: not the same cache entry.
    async with Session(settings(tmp_path, a, b, second="b:other")) as s:
        miss = await s.start_run(path)
        miss_events = await s.events(miss.run_id, limit=1000)
    assert any(e.type is EventType.CACHE_MISS for e in miss_events)
    assert len(a.requests) == 2


async def test_a_key_echoed_in_an_error_reaches_no_breaker_row_event_or_file(
    tmp_path: Path, write: Write, servers: tuple[LLMServer, LLMServer]
) -> None:
    a, b = servers
    canary = "sk-canary-router-5e6f7a8b9c0d1e2f3a4b"
    (tmp_path / "runwright.toml").write_text(
        f"""
[providers.a]
type = "openai"
base_url = "{a.openai_url}"
api_key_env = "A_KEY"
max_retries = 0
breaker_threshold = 1

[providers.b]
type = "openai"
base_url = "{b.openai_url}"

[models.m]
candidates = ["a:first", "b:second"]
"""
    )
    env = {**clean_env(), "A_KEY": canary}
    settings = Settings.from_env(env, cwd=tmp_path, db=str(tmp_path / "r.db"))
    a.script(Reply.error(500, f"upstream rejected key {canary} (bad gateway)"))
    path = write("p.yaml", PIPELINE)
    async with Session(settings) as s:
        result = await s.start_run(path)
        assert result.status is RunStatus.SUCCEEDED, result.error
        events = await s.events(result.run_id, limit=1000)
        async with s.store.transaction() as tx:
            [row] = await tx.breakers()
    assert a.requests[0].headers["authorization"] == f"Bearer {canary}"  # it was sent ...
    assert row.state == "open" and row.last_error and "***" in row.last_error
    [fallback] = [e for e in events if e.type is EventType.LLM_FALLBACK]
    assert "upstream rejected key ***" in fallback.data["detail"]
    assert canary not in repr([e.data for e in events]) and canary not in row.last_error
    files = [f for f in tmp_path.rglob("*") if f.is_file() and f.suffix != ".toml"]
    assert files and not [f for f in files if canary.encode() in f.read_bytes()]  # ... never kept
