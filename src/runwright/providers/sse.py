"""One streamed chat completion (``stream: true``): server-sent ``data:`` lines.

The OpenAI-compatible servers (OpenAI, vLLM, llama.cpp's server, Ollama…) send one
``chat.completion.chunk`` per ``data:`` line, a last chunk with the usage when asked
with ``stream_options: {include_usage: true}``, then ``data: [DONE]``. A stream that
ends without ``[DONE]`` (the server dropped mid-reply) is a retryable failure, like a
lost connection; failures are classified as :func:`~runwright.providers.http.post_json`
classifies them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runwright.providers.errors import MalformedReply, ProviderTimeout, ProviderUnreachable
from runwright.providers.http import Scrubber, classify

if TYPE_CHECKING:
    import httpx


@dataclass(slots=True)
class Streamed:
    """What a stream said, gathered: the text, the last chunk's fields, the usage."""

    text: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    model: str | None = None
    id: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    latency_s: float = 0.0


async def post_stream(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    *,
    headers: Mapping[str, str],
    provider: str,
    scrub: Scrubber,
    timeout: float,
    on_text: Callable[[str], None],
) -> Streamed:
    """POST ``body`` streaming; hand each piece of text to ``on_text``; the gathered reply."""
    import httpx

    got = Streamed()
    started = time.perf_counter()
    done = False
    try:
        async with client.stream("POST", url, json=body, headers=dict(headers)) as reply:
            if reply.status_code >= 300:
                raw = await reply.aread()
                raise classify(
                    reply.status_code, reply.headers, raw, provider=provider, scrub=scrub
                ) from None
            async for line in reply.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, ": keep-alive" comments, "event:" lines
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                piece = _chunk(got, data, provider, scrub)
                if piece:
                    got.text.append(piece)
                    on_text(piece)
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(
            f"provider '{provider}' stopped streaming for {timeout:g}s "
            f"({type(exc).__name__}); raise `timeout` in its [providers] table or check the server",
            provider=provider,
        ) from None
    except httpx.TransportError as exc:
        raise ProviderUnreachable(
            f"provider '{provider}' at {url}: the stream broke off after "
            f"{sum(map(len, got.text))} characters: {scrub(str(exc)) or type(exc).__name__}",
            provider=provider,
        ) from None
    if not done:
        raise ProviderUnreachable(
            f"provider '{provider}' at {url}: the stream ended without [DONE] after "
            f"{sum(map(len, got.text))} characters (the server dropped the reply)",
            provider=provider,
        )
    got.latency_s = time.perf_counter() - started
    return got


def _chunk(got: Streamed, data: str, provider: str, scrub: Scrubber) -> str:
    """Fold one ``chat.completion.chunk`` into ``got``; the text it adds."""
    try:
        chunk = json.loads(data)
        if not isinstance(chunk, dict):
            raise TypeError("not an object")
        if isinstance(chunk.get("error"), dict):
            # Some servers report a failure inside the stream, after the 200.
            raise MalformedReply(
                f"provider '{provider}' failed mid-stream: "
                f"{scrub(str(chunk['error'].get('message', chunk['error'])))}",
                provider=provider,
            )
        if isinstance(chunk.get("usage"), dict):
            got.usage = chunk["usage"]
        if isinstance(chunk.get("model"), str):
            got.model = chunk["model"]
        if isinstance(chunk.get("id"), str):
            got.id = chunk["id"]
        choices = chunk.get("choices") or []
        if not choices:
            return ""
        choice = choices[0]
        if choice.get("finish_reason"):
            got.finish_reason = str(choice["finish_reason"])
        text = (choice.get("delta") or {}).get("content") or ""
        if not isinstance(text, str):
            raise TypeError("delta.content is not a string")
        return text
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise MalformedReply(
            f"provider '{provider}' sent a stream chunk that is not a chat.completion.chunk "
            f"({exc!s}): {scrub(data[:200])!r}",
            provider=provider,
        ) from None
