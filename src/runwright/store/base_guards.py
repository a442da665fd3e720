"""The guards' part of a store transaction: schedules, breakers, rate windows, budgets.

Kept apart from :mod:`runwright.store.base` (the engine's part); the full
:class:`~runwright.store.base.Transaction` protocol includes this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from runwright.store.records import BreakerRecord, RateWindow, ScheduleRecord
    from runwright.store.records_costs import BudgetLimit, CostEntry, Hold, Refusal


class GuardTransaction(Protocol):
    async def insert_schedule(self, s: ScheduleRecord) -> bool: ...

    async def update_schedule(self, name: str, **fields: Any) -> bool: ...

    async def delete_schedule(self, name: str) -> bool: ...

    async def due_schedules(self, now: float) -> list[ScheduleRecord]:
        """Unpaused schedules due by ``now`` (a plain read)."""
        ...

    async def lock_schedule(self, name: str, now: float) -> ScheduleRecord | None:
        """The schedule if still due, its row locked until commit (waits for other holders)."""
        ...

    async def record_fire(self, name: str, fire_time: int, run_id: str, now: float) -> bool:
        """Claim one fire time for one run; False when it was already claimed."""
        ...

    async def breaker(self, endpoint: str, *, lock: bool = False) -> BreakerRecord | None:
        """One provider endpoint's circuit breaker (None: it never failed); ``lock``: for update."""
        ...

    async def lock_breaker(self, endpoint: str, now: float) -> BreakerRecord:
        """One endpoint's breaker, created closed if new, locked until commit."""
        ...

    async def put_breaker(self, b: BreakerRecord) -> None: ...

    async def breakers(self, endpoints: Collection[str] | None = None) -> list[BreakerRecord]:
        """Breakers of ``endpoints`` (every one when None)."""
        ...

    async def lock_rate_window(self, endpoint: str, minute: int) -> RateWindow:
        """An endpoint's request and token counts in one minute, locked until commit."""
        ...

    async def add_to_rate_window(
        self, endpoint: str, minute: int, *, requests: int = 0, tokens: int = 0
    ) -> None: ...

    async def rate_windows(self, endpoints: Collection[str], minute: int) -> list[RateWindow]:
        """The counted windows of ``endpoints`` in ``minute``."""
        ...

    async def reserve(self, hold: Hold, limits: Sequence[BudgetLimit]) -> Refusal | None:
        """Hold a call's worst-case cost if it fits every limit (scopes locked); else refuse.

        A refusal is recorded and stops the run's later reservations until
        :meth:`clear_budget_stop`; commit the transaction either way.
        """
        ...

    async def settle(self, hold: Hold, cost: CostEntry) -> None:
        """Charge a held reservation its actual cost and write the call's ledger row."""
        ...

    async def release_hold(self, reservation_id: str, reason: str) -> None:
        """Give a held reservation back (the call failed with nothing to charge)."""
        ...

    async def settle_lost(self, attempt_ids: Collection[int]) -> int:
        """Charge held reservations of abandoned attempts at their worst case; return how many."""
        ...

    async def clear_budget_stop(self, run_id: str) -> int:
        """Lift a run's budget stop (on resume): its next calls are checked afresh."""
        ...
