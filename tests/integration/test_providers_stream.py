"""Streamed replies: the OpenAI provider over SSE, the router, and the llm step's progress hook.

Against the real loopback server (``stream: true`` answered as server-sent events)
and the real engine; streaming must change nothing but what a display sees.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from clitools import clean_env
from llmserver import LLMServer, Reply
from runwright.api import Session
from runwright.config import parse_config
from runwright.events import EventType, Level
from runwright.providers.base import CompletionRequest, Message, StreamingProvider
from runwright.providers.errors import ProviderRetryable
from runwright.providers.openai import OpenAIProvider
from runwright.providers.router import Router
from runwright.settings import Settings
from runwright.states import RunStatus
from runwright.store import open_store
from runwright.store.base import Store

REQUEST = CompletionRequest(model="m", messages=(Message("user", "hi"),), max_tokens=20)


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


@pytest.fixture
def spare() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = open_store(db_url)
    try:
        yield s
    finally:
        await s.close()


def provider(server: LLMServer) -> OpenAIProvider:
    return OpenAIProvider(name="loop", base_url=server.openai_url, api_key=None, timeout=5)


async def test_a_streamed_reply_arrives_in_pieces_and_equals_the_plain_one(
    server: LLMServer,
) -> None:
    p = provider(server)
    assert isinstance(p, StreamingProvider)
    server.script(
        Reply(text="one two three", usage={"input": 5, "output": 3, "cached": 2}),
        Reply(text="one two three", usage={"input": 5, "output": 3, "cached": 2}),
    )
    pieces: list[str] = []
    try:
        streamed = await p.stream(REQUEST, pieces.append)
        plain = await p.complete(REQUEST)
    finally:
        await p.aclose()
    assert pieces == ["one", " two", " three"]  # every piece, in order
    sent = server.requests[0].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert "stream" not in server.requests[1].body
    # The same request otherwise, and the same response but for the time it took.
    assert {k: v for k, v in sent.items() if not k.startswith("stream")} == (
        server.requests[1].body
    )
    for field in ("text", "usage", "finish_reason", "model", "extra"):
        assert getattr(streamed, field) == getattr(plain, field), field
    assert streamed.usage.cached_tokens == 2 and streamed.text == "one two three"


async def test_a_stream_dropped_midway_is_retryable(server: LLMServer) -> None:
    p = provider(server)
    server.script(Reply(text="one two three four", drop_after=2))
    pieces: list[str] = []
    try:
        with pytest.raises(ProviderRetryable, match="stream broke off after 7 characters"):
            await p.stream(REQUEST, pieces.append)
    finally:
        await p.aclose()
    assert pieces == ["one", " two"]


async def test_a_streamed_http_error_is_classified_like_a_plain_one(server: LLMServer) -> None:
    p = provider(server)
    server.script(Reply.error(503, "overloaded"))
    try:
        with pytest.raises(ProviderRetryable, match="answered 503: overloaded"):
            await p.stream(REQUEST, [].append)
    finally:
        await p.aclose()


async def test_the_router_retries_a_dropped_stream_then_falls_back(
    server: LLMServer, spare: LLMServer, store: Store, tmp_path: Path
) -> None:
    loaded = parse_config(
        f"""
[providers.a]
type = "openai"
base_url = "{server.openai_url}"
max_retries = 1
backoff = 0.01

[providers.b]
type = "openai"
base_url = "{spare.openai_url}"

[models.m]
candidates = ["a:first", "b:second"]
""",
        path=tmp_path / "runwright.toml",
    )
    events: list[tuple[EventType, dict[str, Any]]] = []

    def emit(t: EventType, data: dict[str, Any], level: Level) -> None:
        events.append((t, data))

    server.script(*[Reply(text="lost reply", drop_after=1)] * 2)
    spare.script(Reply(text="kept reply"))
    pieces: list[str] = []
    r = Router(loaded.config, env={}, store=store, emit=emit)
    try:
        routed = await r.complete("m", REQUEST, on_text=pieces.append)
    finally:
        await r.aclose()
    assert routed.candidate.ref == "b:second" and routed.response.text == "kept reply"
    assert len(server.requests) == 2 and len(spare.requests) == 1  # retried, then fell back
    # Each attempt streamed what it got; the reply is only the one that completed.
    assert pieces == ["lost", "lost", "kept", " reply"]
    [fallback] = [d for t, d in events if t is EventType.LLM_FALLBACK]
    assert fallback["reason"] == "failed" and "stream broke off" in fallback["detail"]


def settings_for(tmp_path: Path, server: LLMServer) -> Settings:
    (tmp_path / "runwright.toml").write_text(
        f'[providers.loop]\ntype = "openai"\nbase_url = "{server.openai_url}"\ntimeout = 5\n'
    )
    (tmp_path / "p.yaml").write_text(
        "name: ask\nsteps:\n"
        "  - {id: plan, uses: llm, with: {model: 'loop:m', prompt: 'say it', max_tokens: 9}}\n"
    )
    return Settings.from_env(clean_env(), cwd=tmp_path, db=str(tmp_path / ".runwright" / "r.db"))


async def _run(settings: Settings, shown: list[tuple[str, int | None, str]] | None) -> Any:
    async with Session(settings) as s:
        if shown is not None:
            s.on_progress = lambda step, item, text: shown.append((step, item, text))
        result = await s.start_run(settings.project_dir / "p.yaml", no_cache=True)
        assert result.status is RunStatus.SUCCEEDED, result.error
        output = await s.store.output(result.run_id, "plan", -1)
        events = await s.events(result.run_id, limit=1000)
        costs = await s.store.costs(run_id=result.run_id)
    return output, events, costs


async def test_the_step_streams_to_a_listener_and_stores_the_same_as_without(
    server: LLMServer, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, server)
    reply = Reply(text="first line\nsecond line", usage={"input": 4, "output": 5})
    server.script(reply, reply)
    quiet_output, quiet_events, quiet_costs = await _run(settings, None)
    shown: list[tuple[str, int | None, str]] = []
    loud_output, loud_events, loud_costs = await _run(settings, shown)

    # Only when someone listens is the reply streamed.
    assert "stream" not in server.requests[0].body
    assert server.requests[1].body["stream"] is True
    # The hook saw the reply grow, piece by piece, as the last line of what came so far.
    # (the loopback server sends "first", " line\nsecond", " line").
    assert shown == [
        ("plan", None, "5 chars: first"),
        ("plan", None, "17 chars: second"),
        ("plan", None, "22 chars: second line"),
    ]

    # Streaming changed nothing stored: output, usage, cost rows and events.
    def same(o: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in o.items() if k != "latency_s"}

    assert same(loud_output) == same(quiet_output)
    assert loud_output["usage"] == {"input_tokens": 4, "output_tokens": 5, "cached_tokens": 0}
    assert [(c.input_tokens, c.output_tokens, c.usd) for c in loud_costs] == [
        (c.input_tokens, c.output_tokens, c.usd) for c in quiet_costs
    ]
    assert [e.type for e in loud_events] == [e.type for e in quiet_events]
    # No piece of the reply is in any event: progress is never stored.
    assert not any("second line" in json.dumps(e.data) for e in loud_events)
