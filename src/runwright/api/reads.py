"""What a session reads: runs, their details, costs, outputs, logs, events, exports, cache.

A mixin of :class:`~runwright.api.session.Session` (kept apart so the session's own
module is about starting, resuming and deciding runs); it needs ``store`` and
``registry`` from the session.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from runwright.api.logs import read_logs
from runwright.api.outputs import output_rows, output_summaries, step_output
from runwright.api.results import RunDetails, summarise
from runwright.errors import UsageError
from runwright.events import Event
from runwright.registry import Registry
from runwright.spec.loader import parse_spec
from runwright.spec.suggest import suggest
from runwright.states import RunStatus
from runwright.store.base import Store
from runwright.store.records import AttemptRecord, CacheStats, LogChunk, RunRecord

if TYPE_CHECKING:
    from runwright.api.costs import CostReport


class SessionReads:
    """The read half of the session API."""

    @property
    def store(self) -> Store:
        raise NotImplementedError

    @property
    def registry(self) -> Registry:
        raise NotImplementedError

    async def runs(self, *, limit: int = 50, status: RunStatus | None = None) -> list[RunRecord]:
        return await self.store.list_runs(limit=limit, status=status)

    async def details(self, run_id: str) -> RunDetails:
        run = await self.store.get_run(run_id)
        # The steps' own attempts; a for_each's items only counted: a run of 100,000
        # items is summarised without reading them.
        nodes = await self.store.attempts(run.id, nodes_only=True)
        try:
            order = [s.id for s in parse_spec(run.spec_source, path=run.spec_path).pipeline.steps]
        except Exception:  # an unreadable old spec must not hide the run's state
            order = []
        tracebacks = {
            s.step_id for s in await self.store.log_streams(run.id) if s.stream == "traceback"
        }
        from runwright.api.costs import step_costs

        by_step, total = await step_costs(self.store, run.id)
        return summarise(
            run,
            nodes,
            await self.store.item_counts(run.id),
            order,
            outputs=await output_summaries(self.store, run.id),
            tracebacks=tracebacks,
            costs=by_step,
            total_cost=total,
        )

    async def attempts(self, run_id: str) -> AsyncIterator[AttemptRecord]:
        """Every attempt of a run (for_each items too) in id order, read a page at a time."""
        run = await self.store.get_run(run_id)
        async for a in self.store.iter_attempts(run.id):
            yield a

    async def costs(self, *, run_id: str | None = None, by: str = "step") -> CostReport:
        """What was spent (by one run, or by all), grouped by step, model, provider or day."""
        from runwright.api.costs import cost_report

        return await cost_report(self.store, run_id=run_id, by=by)

    async def output(self, run_id: str, step_id: str, *, item: int | None = None) -> Any:
        """A step's committed output, blobs resolved (see :func:`api.outputs.step_output`)."""
        return await step_output(self.store, run_id, step_id, item)

    def logs(
        self,
        run_id: str,
        step_id: str | None = None,
        *,
        item: int | None = None,
        follow: bool = False,
    ) -> AsyncIterator[LogChunk]:
        """A run's (or one step's) log chunks, masked; ``follow`` waits for new ones."""
        return read_logs(self.store, run_id, step_id=step_id, item=item, follow=follow)

    async def events(self, run_id: str, **filters: Any) -> list[Event]:
        run = await self.store.get_run(run_id)
        return await self.store.events(run.id, **filters)

    async def export(
        self, run_id: str, *, with_outputs: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """Rows: the run, its attempts, its outputs (by reference unless ``with_outputs``),
        its events."""
        run = await self.store.get_run(run_id)
        yield {"type": "run", **run.to_json(), "spec_source": run.spec_source}
        async for a in self.store.iter_attempts(run.id):
            yield {"type": "attempt", **a.to_json()}
        async for row in output_rows(self.store, run.id, inline=with_outputs):
            yield row
        async for event in self.store.iter_events(run.id):
            row = event.to_json()
            row["event_type"] = row.pop("type")  # "type" says what kind of row this is
            yield {"type": "event", **row}

    async def cache_stats(self) -> CacheStats:
        return await self.store.cache_stats()

    async def cache_clear(self, *, kind: str | None = None) -> int:
        """Delete cache entries (of one step kind); an unknown kind is an error, not 0."""
        if kind is not None:
            known = set(self.registry.kinds()) | set((await self.store.cache_stats()).by_kind)
            if kind not in known:
                raise UsageError(
                    f"unknown kind {kind!r}; {suggest(kind, known)} (nothing was deleted)"
                )
        return await self.store.cache_clear(kind=kind)

    async def follow(
        self, run_id: str, *, poll: float = 0.2, **filters: Any
    ) -> AsyncIterator[Event]:
        """Yield a run's events as they are committed, until it finishes or waits."""
        run = await self.store.get_run(run_id)
        after = int(filters.pop("after", 0))
        while True:
            batch = await self.store.events(run.id, after=after, **filters)
            for event in batch:
                yield event
            if batch:
                after = batch[-1].seq or after
                continue
            status = await self.store.run_status(run.id)
            if status.finished or status is RunStatus.WAITING:
                return
            await asyncio.sleep(poll)
