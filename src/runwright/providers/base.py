"""The provider seam: one async ``complete(request) -> response`` per LLM backend.

Step kinds talk to this protocol only; routing, breakers, limits and cost
accounting arrive as providers that wrap providers (compose, don't branch).
Importing this module is cheap: no HTTP client is imported until a provider is built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from runwright.config.models import ProviderConfig

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "other"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message."""

    role: Role
    content: str

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """What to ask a model; every field is part of the llm step's cache key."""

    model: str
    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    #: ``json`` asks for a JSON reply (natively where the server supports it).
    response_format: Literal["text", "json"] = "text"
    #: A JSON Schema the reply must satisfy (with ``response_format="json"``).
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reported them (0 when it did not)."""

    input_tokens: int = 0
    output_tokens: int = 0
    #: Input tokens served from the provider's prompt cache.
    cached_tokens: int = 0
    #: Input tokens written to the provider's prompt cache (Anthropic).
    cache_creation_tokens: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "cache_creation_tokens": self.cache_creation_tokens,
        }


@dataclass(frozen=True, slots=True)
class CompletionResponse:
    """A model's reply."""

    text: str
    usage: Usage
    finish_reason: FinishReason
    #: The model that answered, as the provider names it.
    model: str
    #: Seconds from sending the request to having the whole reply.
    latency_s: float
    #: Provider-specific extras worth keeping (ids); never the request or the key.
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: USD the call cost, set by the cost guard (None: unknown price, or not priced).
    cost_usd: float | None = None


@runtime_checkable
class Provider(Protocol):
    """An LLM backend under a configured name (``[providers.NAME]``)."""

    #: The configured name (``openai``, ``vllm``…): the ``provider`` of ``provider:model``.
    name: str

    def identity(self) -> dict[str, Any]:
        """What distinguishes this endpoint in cache keys: type and URL, never the key."""
        ...

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Send one request; raise a :class:`~runwright.providers.errors.ProviderError`."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


#: Receives a reply's text as it is generated, piece by piece, in order.
TextSink = Callable[[str], None]


@runtime_checkable
class StreamingProvider(Provider, Protocol):
    """A provider that can also hand its reply's text over while it is generated.

    Optional: the router streams only through providers that implement it, and only
    when someone listens (``on_text``); others (``anthropic`` today) answer with
    :meth:`Provider.complete` and the listener sees nothing until the reply. The
    response must be the one ``complete`` would give (text, usage, finish reason).
    """

    async def stream(self, request: CompletionRequest, on_text: TextSink) -> CompletionResponse:
        """Send ``request`` streaming; call ``on_text`` with each piece; return the whole."""
        ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ``provider:model`` a model reference may be served by, at its rank."""

    #: The configured provider name (``[providers.NAME]``).
    provider: str
    model: str
    config: ProviderConfig
    #: Position in the alias's ``candidates`` (0 = preferred; a direct reference is 0).
    rank: int = 0
    #: The alias it came from, if any.
    alias: str | None = None

    @property
    def ref(self) -> str:
        """``provider:model``."""
        return f"{self.provider}:{self.model}"

    @property
    def endpoint(self) -> str:
        """What one circuit breaker and one set of limits cover: the provider's endpoint."""
        c = self.config
        where = c.base_url or c.model_file or c.model_package or ""
        return f"{self.provider}@{where}"


class CallGuard(Protocol):
    """Wraps every network call the router makes (each try, each fallback).

    The budget (``runwright.costs``) reserves before ``call()`` and settles after;
    an exception it raises without calling (a budget refusal) ends the routing:
    nothing falls back to spend elsewhere.
    """

    async def __call__(
        self,
        candidate: Candidate,
        request: CompletionRequest,
        call: Callable[[], Awaitable[CompletionResponse]],
    ) -> CompletionResponse: ...


class NoGuard:
    """The guard that guards nothing: makes the call."""

    async def __call__(
        self,
        candidate: Candidate,
        request: CompletionRequest,
        call: Callable[[], Awaitable[CompletionResponse]],
    ) -> CompletionResponse:
        return await call()


NO_GUARD: CallGuard = NoGuard()
