"""Which candidates a step's ``model:`` means: ``provider:model``, or an alias's ranked list."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from runwright.config.models import ProjectConfig, ProviderConfig
from runwright.errors import FatalStepError
from runwright.providers.base import Candidate


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved model reference."""

    provider: str
    model: str
    config: ProviderConfig
    #: The alias it came from, if any.
    alias: str | None = None


def resolve_candidates(ref: str, config: ProjectConfig) -> list[Candidate]:
    """``"openai:gpt-4.1-mini"`` (one candidate), or ``"planner"``'s candidates in rank order."""
    alias = None
    refs = [ref]
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
        alias, refs = ref, list(found.candidates)
    out = []
    for rank, one in enumerate(refs):
        provider, _, model = one.partition(":")
        settings = config.providers.get(provider)
        if settings is None or not model:
            names = ", ".join(sorted(config.providers))
            where = f" (candidate {rank + 1} of [models.{alias}])" if alias else ""
            raise FatalStepError(
                f"model '{one}'{where}: provider '{provider}' is not configured; add "
                f"[providers.{provider}] to runwright.toml or use one of: {names}"
            )
        out.append(Candidate(provider, model, settings, rank=rank, alias=alias))
    return out


def resolve_model(ref: str, config: ProjectConfig) -> Target:
    """The first candidate of ``ref`` (what a call would use when nothing fails)."""
    first = resolve_candidates(ref, config)[0]
    return Target(first.provider, first.model, first.config, first.alias)
