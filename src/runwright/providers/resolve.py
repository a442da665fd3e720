"""Which provider and model a step's ``model:`` means: ``provider:model`` or an alias.

Today an alias resolves to its first candidate; ranking and fallback over the
others arrive with the router.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from runwright.config.models import ProjectConfig, ProviderConfig
from runwright.errors import FatalStepError


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved model reference."""

    provider: str
    model: str
    config: ProviderConfig
    #: The alias it came from, if any.
    alias: str | None = None


def resolve_model(ref: str, config: ProjectConfig) -> Target:
    """``"openai:gpt-4.1-mini"`` directly, or ``"planner"`` through ``[models.planner]``."""
    alias = None
    if ":" not in ref:
        found = config.models.get(ref)
        if found is None:
            known = sorted(config.models)
            close = difflib.get_close_matches(ref, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            listing = ", ".join(known) if known else "none are configured"
            raise FatalStepError(
                f"model '{ref}' is neither 'provider:model' nor a model alias; {hint}"
                f"add [models.{ref}] to runwright.toml or write e.g. 'openai:gpt-4.1-mini' "
                f"(aliases: {listing})"
            )
        alias, ref = ref, found.candidates[0]
    provider, _, model = ref.partition(":")
    settings = config.providers.get(provider)
    if settings is None or not model:
        names = ", ".join(sorted(config.providers))
        raise FatalStepError(
            f"model '{ref}': provider '{provider}' is not configured; add [providers.{provider}] "
            f"to runwright.toml or use one of: {names}"
        )
    return Target(provider=provider, model=model, config=settings, alias=alias)
