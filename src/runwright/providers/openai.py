"""``type = "openai"``: any OpenAI-compatible ``/chat/completions`` endpoint.

OpenAI, vLLM, Ollama, llama.cpp's server, LM Studio, DeepSeek, Groq, OpenRouter.
Structured output is asked for natively with ``response_format`` (``json_schema``
with a schema, ``json_object`` without); the reply is validated by the caller.
It streams (:meth:`OpenAIProvider.stream`) when the router has a listener.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from runwright.providers.base import CompletionRequest, CompletionResponse, FinishReason, Usage
from runwright.providers.errors import MalformedReply
from runwright.providers.http import Scrubber, make_client, post_json
from runwright.providers.sse import post_stream

if TYPE_CHECKING:
    import httpx

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def _usage(usage: Mapping[str, Any]) -> Usage:
    details = usage.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
    )


class OpenAIProvider:
    """A provider speaking the OpenAI chat-completions protocol."""

    type: ClassVar[str] = "openai"

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
        self._headers = dict(headers or {})
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:  # never the headers: they hold the key
        return f"OpenAIProvider(name={self.name!r}, base_url={self.base_url!r})"

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "base_url": self.base_url}

    def body(self, request: CompletionRequest) -> dict[str, Any]:
        """The JSON body for ``request`` (public so tests and explain can show it)."""
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [m.to_json() for m in request.messages],
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if request.response_format == "json":
            if request.schema is not None:
                body["response_format"] = {
                    "type": "json_schema",
                    # strict would refuse schemas outside OpenAI's subset; we validate anyway.
                    "json_schema": {"name": "output", "schema": dict(request.schema)},
                }
            else:
                body["response_format"] = {"type": "json_object"}
        return body

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        if self._client is None:
            self._client = make_client(self.timeout)
        data, latency = await post_json(
            self._client,
            f"{self.base_url}/chat/completions",
            self.body(request),
            headers=self._headers,
            provider=self.name,
            scrub=self._scrub,
            timeout=self.timeout,
        )
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            if not isinstance(text, str):
                raise TypeError("message.content is not a string")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise MalformedReply(
                f"provider '{self.name}' sent a chat completion without choices[0].message "
                f"({exc!s}); is base_url an OpenAI-compatible /v1 endpoint?",
                provider=self.name,
            ) from None
        return CompletionResponse(
            text=text,
            usage=_usage(data.get("usage") or {}),
            finish_reason=_FINISH.get(str(choice.get("finish_reason")), "other"),
            model=str(data.get("model") or request.model),
            latency_s=latency,
            extra={"id": data["id"]} if isinstance(data.get("id"), str) else {},
        )

    async def stream(
        self, request: CompletionRequest, on_text: Callable[[str], None]
    ) -> CompletionResponse:
        """:meth:`complete`, streamed: ``on_text`` gets each piece of the reply as it comes.

        The response is the one :meth:`complete` gives (the usage comes in the stream's
        last chunk, asked for with ``stream_options.include_usage``).
        """
        if self._client is None:
            self._client = make_client(self.timeout)
        body = {**self.body(request), "stream": True, "stream_options": {"include_usage": True}}
        got = await post_stream(
            self._client,
            f"{self.base_url}/chat/completions",
            body,
            headers=self._headers,
            provider=self.name,
            scrub=self._scrub,
            timeout=self.timeout,
            on_text=on_text,
        )
        return CompletionResponse(
            text="".join(got.text),
            usage=_usage(got.usage),
            finish_reason=_FINISH.get(str(got.finish_reason), "other"),
            model=got.model or request.model,
            latency_s=got.latency_s,
            extra={"id": got.id} if got.id else {},
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
