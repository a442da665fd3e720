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
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from runwright.errors import BudgetExceeded, RunwrightError, UnknownPriceError
from runwright.store.records_costs import CostEntry, Hold, Refusal

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


class CallGuard(Protocol):
    """Wraps one call to one candidate: what may be spent is decided here."""

    async def __call__(
        self,
        candidate: Candidate,
        request: CompletionRequest,
        call: Callable[[], Awaitable[CompletionResponse]],
    ) -> CompletionResponse: ...


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

    def _refused(self, who: str, refusal: Refusal) -> str:
        head = f"step '{self._id.step_id}': the call to {who} was not made: "
        fix = f"; raise the budget, then `runwright resume {self._id.run_id}`"
        if refusal.stopped is not None or refusal.limit is None:
            return f"{head}the run was stopped by a budget ({refusal.stopped}){fix}"
        return (
            f"{head}{refusal.limit.source} is ${refusal.limit.usd:g}, ${refusal.spent:.6g} of it "
            f"is spent or reserved, and this call may cost up to ${refusal.wanted:.6g}{fix}"
        )
