"""The openai and anthropic providers against a real loopback HTTP server, with faults."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Iterator

import pytest

from llmserver import ANTHROPIC_PATH, OPENAI_PATH, LLMServer, Reply
from runwright.config.models import ProviderConfig
from runwright.providers.base import CompletionRequest, Message, Provider
from runwright.providers.errors import (
    AuthenticationFailed,
    BadRequest,
    MalformedReply,
    ProviderTimeout,
    ProviderUnavailable,
    ProviderUnreachable,
    RateLimited,
)
from runwright.providers.factory import build_provider
from runwright.providers.http import parse_retry_after

CANARY = "sk-canary-7d3f1a9e5b2c4d6f8a0b1c2d3e4f5a6b"
ENV = {"TEST_LLM_KEY": CANARY}


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


def openai(server: LLMServer, *, timeout: float = 10.0) -> Provider:
    config = ProviderConfig(
        type="openai", base_url=server.openai_url, api_key_env="TEST_LLM_KEY", timeout=timeout
    )
    return build_provider("loop", config, env=ENV)


def anthropic(server: LLMServer) -> Provider:
    config = ProviderConfig(type="anthropic", base_url=server.url, api_key_env="TEST_LLM_KEY")
    return build_provider("claude", config, env=ENV)


def ask(text: str = "hi", **kwargs: object) -> CompletionRequest:
    return CompletionRequest(
        model="m-1",
        messages=(Message("system", "be brief"), Message("user", text)),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_openai_sends_every_parameter_and_reads_the_reply(server: LLMServer) -> None:
    server.script(Reply(text="hello there", usage={"input": 20, "output": 3, "cached": 16}))
    provider = openai(server)
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    try:
        reply = await provider.complete(
            ask(
                temperature=0.2,
                max_tokens=50,
                stop=("END",),
                seed=7,
                response_format="json",
                schema=schema,
            )
        )
    finally:
        await provider.aclose()
    assert reply.text == "hello there"
    assert reply.usage.input_tokens == 20
    assert reply.usage.output_tokens == 3
    assert reply.usage.cached_tokens == 16
    assert reply.finish_reason == "stop"
    assert reply.model == "m-1"
    assert reply.latency_s > 0
    [sent] = server.requests
    assert sent.path == OPENAI_PATH
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    assert sent.body == {
        "model": "m-1",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
        "temperature": 0.2,
        "max_tokens": 50,
        "stop": ["END"],
        "seed": 7,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema},
        },
    }
    assert CANARY not in repr(provider)


async def test_json_without_a_schema_asks_for_a_json_object(server: LLMServer) -> None:
    provider = openai(server)
    try:
        await provider.complete(ask(response_format="json"))
    finally:
        await provider.aclose()
    assert server.requests[0].body["response_format"] == {"type": "json_object"}


async def test_server_errors_are_retryable_with_the_providers_message(server: LLMServer) -> None:
    server.script(Reply.error(500, "the GPU caught fire"), Reply.error(503, "overloaded"))
    provider = openai(server)
    try:
        with pytest.raises(ProviderUnavailable) as info:
            await provider.complete(ask())
        assert info.value.retryable
        assert info.value.status == 500
        assert "the GPU caught fire" in info.value.message
        assert "provider 'loop' answered 500" in info.value.message
        with pytest.raises(ProviderUnavailable):
            await provider.complete(ask())
    finally:
        await provider.aclose()


async def test_429_is_retryable_and_carries_retry_after(server: LLMServer) -> None:
    later = email.utils.formatdate(2_000_000_000, usegmt=True)
    server.script(
        Reply.error(429, "slow down", Retry_After="7"),
        Reply.error(429, "slow down", Retry_After=later),
        Reply.error(429, "slow down"),
    )
    provider = openai(server)
    try:
        with pytest.raises(RateLimited) as info:
            await provider.complete(ask())
        assert info.value.retryable
        assert info.value.retry_after == 7.0
        assert "retry after 7s" in info.value.message
        with pytest.raises(RateLimited) as info:
            await provider.complete(ask())
        assert info.value.retry_after is not None and info.value.retry_after > 0
        with pytest.raises(RateLimited) as info:
            await provider.complete(ask())
        assert info.value.retry_after is None
    finally:
        await provider.aclose()


async def test_a_reply_slower_than_the_timeout_is_a_retryable_timeout(server: LLMServer) -> None:
    server.script(Reply.slow(60))
    provider = openai(server, timeout=0.3)
    try:
        with pytest.raises(ProviderTimeout) as info:
            await provider.complete(ask())
    finally:
        await provider.aclose()
    assert info.value.retryable
    assert "did not answer within 0.3s" in info.value.message


async def test_malformed_json_is_a_retryable_malformed_reply(server: LLMServer) -> None:
    server.script(Reply.malformed(), Reply(body={"no": "choices"}))
    provider = openai(server)
    try:
        with pytest.raises(MalformedReply, match="not JSON"):
            await provider.complete(ask())
        with pytest.raises(MalformedReply, match=r"without choices\[0\]\.message"):
            await provider.complete(ask())
    finally:
        await provider.aclose()


async def test_401_is_fatal_and_the_key_never_appears_in_the_error(server: LLMServer) -> None:
    # Some providers quote (part of) the key they refused; the message must not.
    server.script(
        Reply.error(401, f"Incorrect API key provided: {CANARY}"),
        Reply.error(403, f"key {CANARY[:12]}...{CANARY[-4:]} may not use m-1"),
        Reply.error(400, "max_tokens is too large"),
    )
    provider = openai(server)
    try:
        with pytest.raises(AuthenticationFailed) as info:
            await provider.complete(ask())
        assert not info.value.retryable
        assert CANARY not in str(info.value) and CANARY not in repr(info.value.fields)
        assert "Incorrect API key provided: ***" in info.value.message
        with pytest.raises(AuthenticationFailed) as info:
            await provider.complete(ask())
        assert CANARY[:12] not in info.value.message
        with pytest.raises(BadRequest, match="max_tokens is too large") as bad:
            await provider.complete(ask())
        assert not bad.value.retryable
    finally:
        await provider.aclose()


async def test_a_server_that_is_not_there_is_unreachable() -> None:
    with LLMServer() as gone:
        url = gone.openai_url
    config = ProviderConfig(type="openai", base_url=url, timeout=5)
    provider = build_provider("gone", config, env={})
    try:
        with pytest.raises(ProviderUnreachable) as info:
            await provider.complete(ask())
    finally:
        await provider.aclose()
    assert info.value.retryable
    assert "cannot be reached" in info.value.message


async def test_anthropic_messages_with_cache_counts_and_tool_use_json(server: LLMServer) -> None:
    server.script(
        Reply(text="plain", usage={"input": 30, "output": 4, "cached": 25, "cache_creation": 5}),
        Reply(text='{"verdict": "ok"}'),
        Reply.error(529, "Overloaded"),
    )
    provider = anthropic(server)
    try:
        reply = await provider.complete(ask(max_tokens=64, stop=("X",), temperature=0))
        assert reply.text == "plain"
        assert reply.usage.input_tokens == 30
        assert reply.usage.cached_tokens == 25
        assert reply.usage.cache_creation_tokens == 5
        assert reply.finish_reason == "stop"
        schema = {"type": "object", "properties": {"verdict": {"type": "string"}}}
        reply = await provider.complete(ask(response_format="json", schema=schema))
        assert json.loads(reply.text) == {"verdict": "ok"}
        with pytest.raises(ProviderUnavailable, match="Overloaded"):
            await provider.complete(ask())
    finally:
        await provider.aclose()
    first, second, _ = server.requests
    assert first.path == ANTHROPIC_PATH
    assert first.headers["x-api-key"] == CANARY
    assert first.headers["anthropic-version"] == "2023-06-01"
    assert first.body == {
        "model": "m-1",
        "max_tokens": 64,
        "system": "be brief",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0,
        "stop_sequences": ["X"],
    }
    assert second.body["tools"][0]["input_schema"] == schema
    assert second.body["tool_choice"] == {"type": "tool", "name": "output"}
    assert second.body["max_tokens"] == 4096


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    date = email.utils.formatdate(1_000_100, usegmt=True)
    assert parse_retry_after(date, now=lambda: 1_000_000.0) == 100.0
