"""Building a provider from its ``[providers.NAME]`` table and the environment.

Provider types are a table of "module:Class", imported only when a provider of
that type is built, so ``runwright --help`` never imports an HTTP client. Every
class takes the same keyword arguments.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from runwright.config.models import ProviderConfig
from runwright.errors import ConfigError
from runwright.providers.base import Provider

#: ``type =`` values and the classes that implement them.
PROVIDER_TYPES: dict[str, str] = {
    "openai": "runwright.providers.openai:OpenAIProvider",
    "anthropic": "runwright.providers.anthropic:AnthropicProvider",
    "local": "runwright.providers.local:LocalProvider",
}


def build_provider(name: str, config: ProviderConfig, *, env: Mapping[str, str]) -> Provider:
    """The provider ``name`` as configured, its key read from ``env`` (never stored)."""
    spec = PROVIDER_TYPES.get(config.type)
    if spec is None:
        raise ConfigError(
            f"provider '{name}' has type '{config.type}', which is not available; "
            f"use one of: {', '.join(sorted(PROVIDER_TYPES))}"
        )
    module, _, attr = spec.partition(":")
    cls: Any = getattr(importlib.import_module(module), attr)
    if hasattr(cls, "from_config"):  # a type that needs more than an HTTP endpoint
        built: Provider = cls.from_config(name=name, config=config, env=env)
        return built
    provider: Provider = cls(
        name=name,
        base_url=config.base_url,
        api_key=env.get(config.api_key_env) if config.api_key_env else None,
        timeout=config.timeout,
        headers=config.headers,
    )
    return provider
