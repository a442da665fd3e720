"""The price table: USD per million tokens for a (provider, model), or unknown.

Looked up in this order: ``[prices."provider:model"]`` in runwright.toml, then
``[prices."provider:*"]``, then $0 for ``local`` providers, then the built-in
table (``prices.json``, generated from the maintained ``genai-prices`` snapshot
by ``scripts/update_prices.py``) for providers whose ``base_url`` is the
vendor's API. Anything else is unknown: ``None``, never $0.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from runwright.config.models import ProjectConfig
from runwright.providers.base import CompletionRequest, Usage

#: Output tokens reserved for a call that sets no ``max_tokens`` (the Anthropic default).
DEFAULT_RESERVE_OUTPUT_TOKENS = 4096
#: Tokens a chat template adds around each message (role markers), reserved on top.
_PER_MESSAGE_TOKENS = 8
#: Anthropic bills prompt-cache writes at 1.25 times the input price.
_ANTHROPIC_CACHE_WRITE = 1.25


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens, and where the figure came from."""

    input_per_mtok: float
    output_per_mtok: float
    #: Price of input tokens served from the provider's prompt cache (None: the input price).
    cached_input_per_mtok: float | None
    #: ``runwright.toml [prices."openai:gpt-4.1"]``, ``built-in (genai-prices 0.2.3)``, ``local``.
    source: str

    @property
    def cached(self) -> float:
        c = self.cached_input_per_mtok
        return self.input_per_mtok if c is None else c


@dataclass(frozen=True, slots=True)
class _Entry:
    equals: frozenset[str]
    prefixes: tuple[str, ...]
    price: Price


@lru_cache(maxsize=1)
def _builtin() -> tuple[str, tuple[tuple[re.Pattern[str], tuple[_Entry, ...]], ...]]:
    data: dict[str, Any] = json.loads(
        (resources.files("runwright.costs") / "prices.json").read_text("utf-8")
    )
    source = f"built-in ({data['source']}, {data['generated']})"
    providers = []
    for p in data["providers"].values():
        entries = tuple(
            _Entry(
                frozenset(m["equals"]),
                tuple(m["prefixes"]),
                Price(
                    float(m["input_per_mtok"]),
                    float(m["output_per_mtok"]),
                    m["cached_input_per_mtok"],
                    source,
                ),
            )
            for m in p["models"]
        )
        providers.append((re.compile(p["api_pattern"]), entries))
    return source, tuple(providers)


def _in_builtin(base_url: str, model: str) -> Price | None:
    for pattern, entries in _builtin()[1]:
        if not pattern.match(base_url):
            continue
        best: tuple[int, Price] | None = None
        for e in entries:
            if model in e.equals:
                return e.price
            for prefix in e.prefixes:
                if model.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), e.price)
        return best[1] if best else None
    return None


class PriceTable:
    """Prices for the providers of one project configuration."""

    def __init__(self, config: ProjectConfig) -> None:
        self._config = config

    def lookup(self, provider: str, model: str) -> Price | None:
        """The price of ``provider:model``, or None when nobody knows it."""
        for key in (f"{provider}:{model}", f"{provider}:*"):
            own = self._config.prices.get(key)
            if own is not None:
                return Price(
                    own.input_per_mtok,
                    own.output_per_mtok,
                    own.cached_input_per_mtok,
                    f'runwright.toml [prices."{key}"]',
                )
        conf = self._config.providers.get(provider)
        if conf is None:
            return None
        if conf.type == "local":
            return Price(0.0, 0.0, 0.0, "local (runs on this machine)")
        return _in_builtin(conf.base_url or "", model)

    def worst_case(self, price: Price, request: CompletionRequest) -> float:
        """The most ``request`` can cost: every prompt byte a token, and all of max_tokens.

        A token covers at least one byte of text, so the byte count bounds the prompt's
        tokens from above (whatever the tokenizer); the reservation is never too small.
        """
        prompt = sum(len(m.content.encode()) + _PER_MESSAGE_TOKENS for m in request.messages)
        if request.schema is not None:
            prompt += len(json.dumps(request.schema).encode())
        output = request.max_tokens or DEFAULT_RESERVE_OUTPUT_TOKENS
        return _usd(prompt * price.input_per_mtok + output * price.output_per_mtok)

    def cost(self, provider: str, price: Price, usage: Usage) -> float:
        """What ``usage`` costs at ``price``.

        OpenAI-compatible servers count cached tokens inside the input tokens; Anthropic
        reports them (and cache writes) beside them.
        """
        conf = self._config.providers.get(provider)
        cached = usage.cached_tokens
        if conf is not None and conf.type == "anthropic":
            fresh = usage.input_tokens
            writes = usage.cache_creation_tokens * price.input_per_mtok * _ANTHROPIC_CACHE_WRITE
        else:
            fresh = max(usage.input_tokens - cached, 0)
            writes = 0.0
        total = (
            fresh * price.input_per_mtok
            + cached * price.cached
            + writes
            + usage.output_tokens * price.output_per_mtok
        )
        return _usd(total)


def _usd(per_mtok_total: float) -> float:
    # Rounded to 1e-12 USD so float noise does not print as 0.30000000000000004.
    value = per_mtok_total / 1_000_000
    return round(value, 12) if math.isfinite(value) else value
