"""``runwright explain model ALIAS``: which candidate a call would use now, and why.

Asks the same pieces the router asks before a call — readiness (key, model file),
the circuit breaker in the store, the per-minute limits in the store, and (when
given) a budget check — without changing any of them and without a network call.
The first candidate nothing stands in the way of is the one a call would use now;
every other is passed over for the reasons listed.

The budget check is :class:`runwright.costs.headroom.BudgetHeadroom` (the global
``[budgets]`` and, given ``pipeline=``, that pipeline's), read-only like the rest;
``budget=`` replaces it with any async callable that says why a candidate is over
budget (``None``: it is not).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runwright.config import LoadedConfig
from runwright.providers.base import Candidate
from runwright.providers.breaker import CLOSED, HALF_OPEN, OPEN, Breakers
from runwright.providers.limits import Limits
from runwright.providers.ready import not_ready
from runwright.providers.resolve import resolve_candidates
from runwright.settings import Settings
from runwright.store import open_store
from runwright.store.base import Store

#: Says why a candidate is over budget now, or None.
BudgetCheck = Callable[[Candidate], Awaitable[str | None]]

LOWER_RANK = "lower_rank"
BREAKER_OPEN = "breaker_open"
PROBING = "probing"
RATE_LIMITED = "rate_limited"
OVER_BUDGET = "over_budget"


@dataclass(frozen=True, slots=True)
class Reason:
    """One thing that passes a candidate over (``code``), in words, and until when."""

    code: str
    detail: str
    until: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, "until": self.until}


@dataclass(frozen=True, slots=True)
class CandidateView:
    """One candidate: its rank, its endpoint's state, and what stands in its way."""

    rank: int
    provider: str
    model: str
    type: str
    endpoint: str
    breaker: str
    #: Consecutive failures the breaker has counted.
    failures: int
    #: What passes it over (empty: usable now).
    reasons: tuple[Reason, ...] = ()
    #: Facts in its favour (key set, breaker closed, within limits).
    notes: tuple[str, ...] = ()
    last_error: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    def usable(self) -> bool:
        return not [r for r in self.reasons if r.code != LOWER_RANK]

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "ref": self.ref,
            "provider": self.provider,
            "model": self.model,
            "type": self.type,
            "endpoint": self.endpoint,
            "breaker": self.breaker,
            "failures": self.failures,
            "usable": self.usable,
            "reasons": [r.to_json() for r in self.reasons],
            "notes": list(self.notes),
            "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class ModelExplanation:
    """The ranked candidates of a model reference and the one a call would use now."""

    ref: str
    alias: str | None
    candidates: list[CandidateView]
    #: Index into ``candidates`` of the one a call would use now (None: none can be).
    chosen: int | None
    why: str
    checked_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        pick = self.candidates[self.chosen] if self.chosen is not None else None
        return {
            "model": self.ref,
            "alias": self.alias,
            "would_use": pick.ref if pick else None,
            "why": self.why,
            "checked_at": self.checked_at,
            "candidates": [c.to_json() for c in self.candidates],
        }


async def explain_model(
    settings: Settings,
    ref: str,
    *,
    budget: BudgetCheck | None = None,
    pipeline: str | None = None,
) -> ModelExplanation:
    """How a call to ``ref`` would be routed now, from the configuration and the database.

    ``pipeline``: also check that pipeline's budgets (``[budgets.pipelines.NAME]``).
    """
    from runwright.costs.headroom import BudgetHeadroom

    loaded = settings.config or LoadedConfig.empty()
    candidates = resolve_candidates(ref, loaded.config)
    store = _existing_store(settings)
    if budget is None:
        budget = BudgetHeadroom(loaded.config, store, pipeline=pipeline)
    try:
        return await explain_candidates(
            ref,
            candidates,
            env=settings.env,
            base_dir=loaded.path.parent if loaded.path else settings.project_dir,
            store=store,
            budget=budget,
        )
    finally:
        if store is not None:
            await store.close()


async def explain_candidates(
    ref: str,
    candidates: list[Candidate],
    *,
    env: Any,
    base_dir: Path | None,
    store: Store | None,
    budget: BudgetCheck | None = None,
    now: float | None = None,
) -> ModelExplanation:
    """:func:`explain_model` on resolved candidates and an open store (or none)."""
    at = time.time() if now is None else now
    breakers = await Breakers(store, clock=lambda: at).peek([c.endpoint for c in candidates])
    limits = await Limits(store, clock=lambda: at).peek(candidates)
    now = at
    views: list[CandidateView] = []
    for c in candidates:
        reasons: list[Reason] = []
        notes: list[str] = []
        missing = not_ready(c, env, base_dir)
        if missing is not None:
            reasons.append(Reason(missing.reason, missing.detail))
        elif c.config.api_key_env:
            notes.append(f"key set ({c.config.api_key_env})")
        b = breakers.get(c.endpoint)
        state = b.state if b else CLOSED
        if b is not None and b.state == OPEN and b.open_until is not None and now < b.open_until:
            reasons.append(
                Reason(
                    BREAKER_OPEN,
                    f"breaker open after {b.failures} consecutive failure(s) until "
                    f"{_clock(b.open_until)} (in {b.open_until - now:.0f}s)",
                    b.open_until,
                )
            )
        elif b is not None and b.state == HALF_OPEN and b.probe_until and now < b.probe_until:
            reasons.append(
                Reason(PROBING, "breaker half-open: another call is probing it", b.probe_until)
            )
        elif b is not None and b.state in (OPEN, HALF_OPEN):
            notes.append("breaker cooled down: the next call is its probe")
        elif b is not None and b.failures:
            notes.append(
                f"breaker closed ({b.failures}/{c.config.breaker_threshold} failures counted)"
            )
        else:
            notes.append("breaker closed")
        allowance = limits.get(c.endpoint)
        if allowance is not None and not allowance.allowed:
            reasons.append(
                Reason(
                    RATE_LIMITED,
                    f"rate limited: {allowance.reason}, until {_clock(allowance.until)}",
                    allowance.until,
                )
            )
        elif allowance is not None:
            notes.append("within its rpm/tpm limits")
        if budget is not None:
            over = await budget(c)
            if over:
                reasons.append(Reason(OVER_BUDGET, over))
        views.append(
            CandidateView(
                c.rank,
                c.provider,
                c.model,
                c.config.type,
                c.endpoint,
                state,
                b.failures if b else 0,
                tuple(reasons),
                tuple(notes),
                b.last_error if b else None,
            )
        )
    chosen = next((i for i, v in enumerate(views) if v.usable), None)
    if chosen is not None:
        pick = views[chosen]
        for i in range(chosen + 1, len(views)):
            v = views[i]
            views[i] = _with_reason(v, Reason(LOWER_RANK, f"ranked below {pick.ref}"))
        if chosen == 0:
            why = f"{pick.ref} is ranked first and nothing stands in its way"
        else:
            above = ", ".join(v.ref for v in views[:chosen])
            why = (
                f"{pick.ref} is the best-ranked candidate that is usable now ({above} passed over)"
            )
    else:
        why = "no candidate can be used now; a call would fail with the reasons below"
    alias = candidates[0].alias if candidates else None
    return ModelExplanation(ref, alias, views, chosen, why, now)


def _with_reason(v: CandidateView, r: Reason) -> CandidateView:
    from dataclasses import replace

    return replace(v, reasons=(r, *v.reasons))


def _clock(ts: float | None) -> str:
    if ts is None:
        return "?"
    return time.strftime("%H:%M:%S", time.localtime(ts))


def _existing_store(settings: Settings) -> Store | None:
    """The database, if there is one: explaining never creates a SQLite file."""
    url = settings.database_url
    if "://" not in url and not Path(url).exists():
        return None
    return open_store(url)
