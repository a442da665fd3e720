"""Routing one completion over a model's ranked candidates: retry, back off, fall back.

A model reference (an alias's ``candidates`` or a direct ``provider:model``) is a
ranked list. Each candidate is tried in order; before any network call it must be
ready (its key set, its model file there), its circuit breaker must admit it and
its per-minute limits must have room, else it is passed over at once. A retryable
failure (timeout, connection error, 5xx, 429, a malformed reply) is retried with
exponential backoff and jitter, never sooner than ``Retry-After`` asks, up to
``max_retries``, then the next candidate is tried. A non-retryable one (400,
401/403, a content-policy refusal) fails the call at once with the provider's
message: another candidate would be refused the same request or key problem.

Composed, not branched: the breaker (:mod:`.breaker`), the limits (:mod:`.limits`),
the backoff (:mod:`.retry`) and the caller's :class:`~.base.CallGuard` (the budget)
are each their own piece; this module only orders them. Every network call goes
through ``guard(candidate, request, call)`` — each retry and each fallback — so no
call escapes the budget, and an exception the guard raises without calling ends the
whole routing (nothing falls back to spend elsewhere).

Step retries: an ``llm`` step's provider failures are retried here, per provider.
When every candidate failed, :class:`~.errors.RoutingFailed` is not retryable, so
the engine's step-level ``retry:`` does not repeat the whole routing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runwright.config.models import ProjectConfig
from runwright.errors import ConfigError
from runwright.events import EventType, Level
from runwright.providers.base import (
    NO_GUARD,
    CallGuard,
    Candidate,
    CompletionRequest,
    CompletionResponse,
    Provider,
    StreamingProvider,
    TextSink,
)
from runwright.providers.breaker import Breakers
from runwright.providers.errors import ProviderError, ProviderFatal, RoutingFailed
from runwright.providers.limits import Limits
from runwright.providers.ready import not_ready
from runwright.providers.resolve import resolve_candidates
from runwright.providers.retry import Backoff
from runwright.store.base import Store

#: Records an event of the calling step: ``emit(type, data, level)``.
Emit = Callable[[EventType, dict[str, Any], Level], None]
Sleep = Callable[[float], Awaitable[None]]

#: Reasons a candidate is passed over (the ``reason`` of ``llm.fallback``).
FAILED = "failed"
BREAKER_OPEN = "breaker_open"
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Skip:
    """Why one candidate did not answer."""

    candidate: Candidate
    reason: str
    detail: str
    #: Network calls made to it.
    tries: int = 0
    #: When it may be worth trying again (breaker open until, next rate window).
    until: float | None = None

    def line(self) -> str:
        tried = f" after {self.tries} call(s)" if self.tries else ""
        return f"{self.candidate.ref}: {self.reason.replace('_', ' ')}{tried} ({self.detail})"


@dataclass(frozen=True, slots=True)
class Routed:
    """The answer, the candidate that gave it and what was passed over first."""

    response: CompletionResponse
    candidate: Candidate
    #: Network calls made for this completion, over every candidate.
    calls: int
    skipped: tuple[Skip, ...] = field(default=())


class Router:
    """Routes completions for one step (or one process), holding the providers it built."""

    def __init__(
        self,
        config: ProjectConfig,
        *,
        env: Mapping[str, str],
        store: Store | None = None,
        base_dir: Path | None = None,
        emit: Emit | None = None,
        breakers: Breakers | None = None,
        limits: Limits | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._env = env
        self._base_dir = base_dir
        self._emit = emit
        self.breakers = breakers or Breakers(store)
        self.limits = limits or Limits(store)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._providers: dict[str, Provider] = {}

    def candidates(self, ref: str) -> list[Candidate]:
        """The ranked candidates ``ref`` means (an alias's, or the one ``provider:model``)."""
        return resolve_candidates(ref, self.config)

    async def complete(
        self,
        ref: str,
        request: CompletionRequest,
        *,
        guard: CallGuard = NO_GUARD,
        tags: Mapping[str, Any] | None = None,
        on_text: TextSink | None = None,
    ) -> Routed:
        """Answer ``request`` from the first candidate of ``ref`` that can.

        ``tags`` are added to this call's ``llm.*`` events (the step's re-ask turn).
        ``on_text`` receives the reply's text as it is generated, from providers that
        stream (:class:`StreamingProvider`); a retry or fallback streams its reply anew.
        Raises the provider's error for a non-retryable failure, whatever the guard
        raised without calling, or :class:`RoutingFailed` listing every candidate.
        """
        pending = self.candidates(ref)
        skipped: list[Skip] = []
        calls = 0
        while True:
            waiting: list[Skip] = []
            for i, c in enumerate(pending):
                outcome = await self._candidate(c, request, guard, dict(tags or {}), on_text)
                if isinstance(outcome, Routed):
                    return replace(outcome, calls=calls + outcome.calls, skipped=tuple(skipped))
                calls += outcome.tries
                skipped.append(outcome)
                following = pending[i + 1] if i + 1 < len(pending) else None
                self._fallback(outcome, following, tags)
                if outcome.reason == RATE_LIMITED:
                    waiting.append(outcome)
            if not waiting:
                raise RoutingFailed(
                    f"model '{ref}': no candidate answered; "
                    + "; ".join(f"{n}. {s.line()}" for n, s in enumerate(skipped, 1))
                )
            # Only our own per-minute limits stood in the way: wait for the soonest window
            # (held across steps and workers; the step's timeout bounds the wait).
            soonest = min(s.until or 0.0 for s in waiting)
            await self._sleep(max(0.0, soonest - self.limits.now()) + self._rng.uniform(0, 0.25))
            pending = [s.candidate for s in waiting]

    async def _candidate(
        self,
        c: Candidate,
        request: CompletionRequest,
        guard: CallGuard,
        tags: dict[str, Any],
        on_text: TextSink | None = None,
    ) -> Routed | Skip:
        missing = not_ready(c, self._env, self._base_dir)
        if missing is not None:
            return Skip(c, missing.reason, missing.detail)
        try:
            provider = self._provider(c)
        except ConfigError as exc:
            return Skip(c, UNAVAILABLE, str(exc))
        backoff = Backoff.of(c.config)
        asked = replace(request, model=c.model)
        tries = 0
        while True:
            admission = await self.breakers.admit(c)
            if not admission.allowed:
                return Skip(c, BREAKER_OPEN, admission.reason, tries, admission.until)
            allowance = await self.limits.take(c)
            if not allowance.allowed:
                if admission.probe:
                    await self.breakers.release_probe(c)
                return Skip(c, RATE_LIMITED, allowance.reason, tries, allowance.until)
            tries += 1
            called = False

            async def call(p: Provider = provider) -> CompletionResponse:
                nonlocal called
                called = True
                if on_text is not None and isinstance(p, StreamingProvider):
                    return await p.stream(asked, on_text)
                return await p.complete(asked)

            self._event(EventType.LLM_REQUEST, _request_data(c, asked, tries, tags))
            try:
                async with self.limits.slot(c):
                    reply = await guard(c, asked, call)
            except ProviderFatal:
                if called:
                    # The endpoint answered: it is up, whatever it thought of the request.
                    await self.breakers.succeeded(c, admission)
                raise
            except ProviderError as exc:
                if not called:
                    raise  # the guard's own refusal: final for the whole routing
                await self.breakers.failed(c, str(exc))
                delay = backoff.delay(tries, exc.retry_after, self._rng)
                if delay is None:
                    return Skip(c, FAILED, str(exc), tries)
                await self._sleep(delay)
                continue
            except BaseException:
                if admission.probe:
                    await self.breakers.release_probe(c)
                raise
            await self.breakers.succeeded(c, admission)
            await self.limits.used(
                c, allowance, reply.usage.input_tokens + reply.usage.output_tokens
            )
            self._event(EventType.LLM_RESPONSE, _response_data(c, reply, tries, tags))
            return Routed(reply, c, tries)

    def _provider(self, c: Candidate) -> Provider:
        from runwright.providers.factory import build_provider

        found = self._providers.get(c.provider)
        if found is None:
            found = self._providers[c.provider] = build_provider(
                c.provider, c.config, env=self._env
            )
        return found

    def _fallback(
        self, s: Skip, following: Candidate | None, tags: Mapping[str, Any] | None
    ) -> None:
        data: dict[str, Any] = {
            "provider": s.candidate.provider,
            "model": s.candidate.model,
            "reason": s.reason,
            "detail": s.detail,
            "tries": s.tries,
            "next": following.ref if following else None,
            **(tags or {}),
        }
        if s.until is not None:
            data["until"] = round(s.until, 3)
        self._event(EventType.LLM_FALLBACK, data, Level.WARNING)

    def _event(self, type_: EventType, data: dict[str, Any], level: Level = Level.INFO) -> None:
        if self._emit is not None:
            self._emit(type_, data, level)

    async def aclose(self) -> None:
        """Close every provider this router built."""
        for p in self._providers.values():
            await p.aclose()
        self._providers.clear()


def _request_data(
    c: Candidate, request: CompletionRequest, tries: int, tags: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "provider": c.provider,
        "model": request.model,
        "messages": len(request.messages),
        "max_tokens": request.max_tokens,
        "response_format": request.response_format,
        "rank": c.rank,
        "try": tries,
        **tags,
    }


def _response_data(
    c: Candidate, reply: CompletionResponse, tries: int, tags: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "provider": c.provider,
        "model": reply.model,
        **reply.usage.to_json(),
        "latency_s": round(reply.latency_s, 6),
        "cost_usd": reply.cost_usd,  # set by the budget guard; None: unknown price
        "finish_reason": reply.finish_reason,
        "try": tries,
        **tags,
    }
