"""The one path every spending call takes: reserve the worst case, call, settle.

The router (and the ``llm`` step until it has one) calls a :class:`CallGuard`
around each candidate it tries; agents use the same guard. :class:`BudgetGuard`

1. prices the call (unknown stays unknown; ``unknown_price = "error"`` refuses it),
2. reserves its worst-case cost in ONE store transaction that checks every budget
   bounding it under the budget scopes' row locks — a call that does not fit is
   not made and stops the run's spending (:class:`~runwright.errors.BudgetExceeded`),
3. makes the call, and
4. settles the actual cost (writing the ledger row) in one transaction, or
   releases the reservation when the call failed.

A process that dies during step 3 leaves the reservation ``held``; the store
charges it when the attempt is abandoned (resume or lease expiry), so it is
never leaked.

Agents spend through :meth:`BudgetGuard.spend`: the same reserve, call, settle,
with the worst case given by the caller (the agent's own limit, else all the
budgets' remaining :meth:`~BudgetGuard.headroom`) and the cost the agent reports
settled after (unknown stays unknown).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, TypeVar

from runwright.errors import BudgetExceeded, RunwrightError, UnknownPriceError
from runwright.store.records_costs import SPENDING_STATES, CostEntry, Hold, Refusal

if TYPE_CHECKING:
    from runwright.costs.policy import SpendPolicy
    from runwright.providers.base import CompletionRequest, CompletionResponse
    from runwright.store.base import Store


class Candidate(Protocol):
    """Who a call goes to: the configured provider name and the model."""

    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...


T = TypeVar("T")

#: Reserved when no budget is left, so that the store refuses (and records the stop).
_MIN_HOLD = 1e-6


class CallGuard(Protocol):
    """Wraps one call to one candidate: what may be spent is decided here."""

    async def __call__(
        self,
        candidate: Candidate,
        request: CompletionRequest,
        call: Callable[[], Awaitable[CompletionResponse]],
    ) -> CompletionResponse: ...

    async def spend(
        self,
        candidate: Candidate,
        *,
        worst_usd: float | None,
        call: Callable[[], Awaitable[T]],
        cost_of: Callable[[T], float | None],
    ) -> T:
        """Reserve ``worst_usd`` (None: the remaining headroom), call, settle ``cost_of``."""
        ...

    async def headroom(self) -> float | None:
        """USD left under the tightest budget now (None: no budget bounds this attempt)."""
        ...


@dataclass(frozen=True, slots=True)
class Target:
    """A plain :class:`Candidate` (for callers without a router)."""

    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class SpendIdentity:
    """The attempt that spends: charged rows and budgets are keyed by it."""

    run_id: str
    step_id: str
    item: int
    #: The attempt's number within its step (shown), and its id (fencing, recovery).
    attempt: int
    attempt_id: int | None


def utc_day(ts: float) -> str:
    """The UTC date a call made at ``ts`` counts on (``YYYY-MM-DD``)."""
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


class BudgetGuard:
    """The :class:`CallGuard` of one attempt: reserve, call, settle, all in the store."""

    def __init__(self, *, store: Store, identity: SpendIdentity, policy: SpendPolicy) -> None:
        self._store = store
        self._id = identity
        self._policy = policy

    async def __call__(
        self,
        candidate: Candidate,
        request: CompletionRequest,
        call: Callable[[], Awaitable[CompletionResponse]],
    ) -> CompletionResponse:
        policy, who = self._policy, f"{candidate.provider}:{candidate.model}"
        price = policy.prices.lookup(candidate.provider, candidate.model)
        if price is None and policy.unknown_price == "error":
            raise UnknownPriceError(
                f"step '{self._id.step_id}': no price is known for {who} and runwright.toml says "
                f'[budgets] unknown_price = "error", so the call was not made; add its price:\n'
                f'  [prices."{who}"]\n  input_per_mtok = 0.4\n  output_per_mtok = 1.6\n'
                '(USD per million tokens), or set unknown_price = "unknown"'
            )
        worst = 0.0 if price is None else policy.prices.worst_case(price, request)
        now = time.time()
        hold = Hold(
            id=uuid.uuid4().hex,
            run_id=self._id.run_id,
            pipeline=policy.pipeline,
            day=utc_day(now),
            attempt_id=self._id.attempt_id,
            step_id=self._id.step_id,
            item=self._id.item,
            provider=candidate.provider,
            model=candidate.model,
            usd=worst,
            ts=now,
        )
        async with self._store.transaction() as tx:
            refusal = await tx.reserve(hold, policy.limits)
        if refusal is not None:
            raise BudgetExceeded(self._refused(who, refusal))
        try:
            response = await call()
        except BaseException:
            # Nothing came back to charge; a failure to release leaves it held, and the
            # attempt's recovery charges it: never leaked either way.
            with suppress(RunwrightError):
                async with self._store.transaction() as tx:
                    await tx.release_hold(hold.id, "the call failed")
            raise
        u = response.usage
        usd = None if price is None else policy.prices.cost(candidate.provider, price, u)
        entry = CostEntry(u.input_tokens, u.output_tokens, u.cached_tokens, usd, self._id.attempt)
        async with self._store.transaction() as tx:
            await tx.settle(hold, entry)
        return replace(response, cost_usd=usd)

    async def headroom(self) -> float | None:
        """USD left under the tightest budget bounding this attempt (None: unbounded).

        What is spent and held counts (settled, lost and held reservations), as the
        store counts it when it reserves; may be negative when a reported cost went over.
        """
        limits = self._policy.limits
        if not limits:
            return None
        rows = await self._store.reservations()
        day = utc_day(time.time())
        room: float | None = None
        for limit in limits:
            spent = 0.0
            for r in rows:
                if r.state not in SPENDING_STATES or r.usd is None:
                    continue
                if limit.scope == "run" and r.run_id != self._id.run_id:
                    continue
                if limit.scope in ("pipeline_day", "day") and r.day != day:
                    continue
                if limit.scope.startswith("pipeline") and r.pipeline != self._policy.pipeline:
                    continue
                spent += r.usd
            left = limit.usd - spent
            room = left if room is None else min(room, left)
        return room

    async def spend(
        self,
        candidate: Candidate,
        *,
        worst_usd: float | None,
        call: Callable[[], Awaitable[T]],
        cost_of: Callable[[T], float | None],
    ) -> T:
        """The agent path: reserve the worst case, ``call()``, settle what it reports.

        ``worst_usd`` None reserves all the headroom left (an agent with no limit of its
        own may spend anything up to the budgets). Nothing left — or a budget stop of the
        run — raises :class:`~runwright.errors.BudgetExceeded` before ``call`` starts
        anything. ``cost_of(result)`` None records the cost as unknown (never $0).
        """
        who = f"{candidate.provider}:{candidate.model}"
        room = await self.headroom()
        worst = worst_usd if worst_usd is not None else (room if room is not None else 0.0)
        if room is not None:
            # Nothing left: a token amount the store is sure to refuse, so the refusal is
            # recorded like any other and stops the run's spending.
            worst = _MIN_HOLD if room <= 0 else min(max(worst, 0.0), room) or _MIN_HOLD
        now = time.time()
        hold = Hold(
            id=uuid.uuid4().hex,
            run_id=self._id.run_id,
            pipeline=self._policy.pipeline,
            day=utc_day(now),
            attempt_id=self._id.attempt_id,
            step_id=self._id.step_id,
            item=self._id.item,
            provider=candidate.provider,
            model=candidate.model,
            usd=worst,
            ts=now,
        )
        async with self._store.transaction() as tx:
            refusal = await tx.reserve(hold, self._policy.limits)
        if refusal is not None:
            raise BudgetExceeded(
                self._refused(who, refusal, what=f"the agent {candidate.model} was not started")
            )
        try:
            result = await call()
        except BaseException:
            with suppress(RunwrightError):
                async with self._store.transaction() as tx:
                    await tx.release_hold(hold.id, "the agent did not finish")
            raise
        entry = CostEntry(0, 0, 0, cost_of(result), self._id.attempt)
        async with self._store.transaction() as tx:
            await tx.settle(hold, entry)
        return result

    def _refused(self, who: str, refusal: Refusal, what: str | None = None) -> str:
        head = f"step '{self._id.step_id}': {what or f'the call to {who} was not made'}: "
        fix = f"; raise the budget, then `runwright resume {self._id.run_id}`"
        if refusal.stopped is not None or refusal.limit is None:
            return f"{head}the run was stopped by a budget ({refusal.stopped}){fix}"
        return (
            f"{head}{refusal.limit.source} is ${refusal.limit.usd:g}, ${refusal.spent:.6g} of it "
            f"is spent or reserved, and this may cost up to ${refusal.wanted:.6g}{fix}"
        )
