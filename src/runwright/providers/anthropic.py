"""``type = "anthropic"``: the Messages API, with prompt-caching token counts.

Structured output uses tool use: one tool whose ``input_schema`` is the schema,
forced with ``tool_choice``; its input is the JSON reply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from runwright.providers.base import CompletionRequest, CompletionResponse, FinishReason, Usage
from runwright.providers.errors import MalformedReply
from runwright.providers.http import Scrubber, make_client, post_json

if TYPE_CHECKING:
    import httpx

API_VERSION = "2023-06-01"
#: The Messages API requires max_tokens; used when a step does not set it.
DEFAULT_MAX_TOKENS = 4096
TOOL_NAME = "output"

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
}


class AnthropicProvider:
    """A provider speaking Anthropic's Messages protocol."""

    type: ClassVar[str] = "anthropic"

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: str | None,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._scrub = Scrubber(api_key)
        self._headers = {"anthropic-version": API_VERSION, **dict(headers or {})}
        if api_key:
            self._headers["x-api-key"] = api_key
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"AnthropicProvider(name={self.name!r}, base_url={self.base_url!r})"

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "base_url": self.base_url}

    def body(self, request: CompletionRequest) -> dict[str, Any]:
        """The JSON body for ``request``: system messages go to ``system``."""
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [m.to_json() for m in request.messages if m.role != "system"],
        }
        if system:
            body["system"] = system
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        if request.response_format == "json":
            schema = dict(request.schema) if request.schema is not None else {"type": "object"}
            body["tools"] = [
                {
                    "name": TOOL_NAME,
                    "description": "Give the answer as this tool's input.",
                    "input_schema": schema,
                }
            ]
            body["tool_choice"] = {"type": "tool", "name": TOOL_NAME}
        return body

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        if self._client is None:
            self._client = make_client(self.timeout)
        data, latency = await post_json(
            self._client,
            f"{self.base_url}/v1/messages",
            self.body(request),
            headers=self._headers,
            provider=self.name,
            scrub=self._scrub,
            timeout=self.timeout,
        )
        text = _text(data, self.name, structured=request.response_format == "json")
        usage = data.get("usage") or {}
        return CompletionResponse(
            text=text,
            usage=Usage(
                input_tokens=int(usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("output_tokens") or 0),
                cached_tokens=int(usage.get("cache_read_input_tokens") or 0),
                cache_creation_tokens=int(usage.get("cache_creation_input_tokens") or 0),
            ),
            finish_reason=_FINISH.get(str(data.get("stop_reason")), "other"),
            model=str(data.get("model") or request.model),
            latency_s=latency,
            extra={"id": data["id"]} if isinstance(data.get("id"), str) else {},
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _text(data: dict[str, Any], provider: str, *, structured: bool) -> str:
    blocks = data.get("content")
    if not isinstance(blocks, list):
        raise MalformedReply(
            f"provider '{provider}' sent a message without a content list; "
            "is base_url the Anthropic API (without /v1)?",
            provider=provider,
        )
    if structured:
        for block in blocks:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                return json.dumps(block.get("input"), ensure_ascii=False)
    parts = [b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
    return "".join(p for p in parts if isinstance(p, str))
