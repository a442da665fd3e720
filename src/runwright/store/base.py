"""The Store seam: the engine talks to these protocols, never to a database driver.

The protocol is batch-oriented: a :class:`Transaction` groups every write a
step completion needs (attempt transition, output, events, cache entry,
dependents' readiness, next claims) so they commit together or not at all.
Implementations hold only what differs between databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

from runwright.events import Event
from runwright.states import AttemptState, RunStatus
from runwright.store.base_guards import GuardTransaction
from runwright.store.base_ledger import LedgerTransaction
from runwright.store.records import (
    AttemptProcess,
    AttemptRecord,
    CacheEntry,
    CacheStats,
    ItemCounts,
    LogChunk,
    LogStream,
    NewAttempt,
    OutputRef,
    RunRecord,
    RunTally,
    ScheduleRecord,
    WorkerRecord,
)

if TYPE_CHECKING:
    from runwright.store.records_costs import CostRecord, ReservationRecord


class Transaction(LedgerTransaction, GuardTransaction, Protocol):
    """Writes (and the reads they depend on) inside one atomic transaction."""

    async def insert_run(self, run: RunRecord) -> None: ...

    async def set_run_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: str | None = None,
        finished: bool = False,
        spec: tuple[str, str] | None = None,
    ) -> None:
        """Write a run's status; ``spec`` = (hash, source) re-pins the run on resume."""
        ...

    async def run_status(self, run_id: str) -> RunStatus: ...

    async def lock_run(self, run_id: str) -> RunStatus:
        """The run's status, with its row locked until commit (deciders take turns)."""
        ...

    async def insert_attempts(self, attempts: Sequence[NewAttempt]) -> None: ...

    async def transition(
        self,
        attempt_id: int,
        old: AttemptState,
        new: AttemptState,
        *,
        reason: str | None = None,
        error: str | None = None,
        worker_id: str | None = None,
        at: float | None = None,
    ) -> None:
        """Move an attempt from ``old`` to ``new`` (stamped ``at``, default now).

        Raises :class:`~runwright.errors.IllegalTransition` when the move is not
        legal or the attempt is no longer in ``old`` (fencing: a late result from
        a worker that lost its lease is refused).
        """
        ...

    async def supersede(self, attempt_ids: Collection[int]) -> None: ...

    async def reopen(self, attempt_ids: Collection[int], reason: str) -> None:
        """Supersede finished or abandoned attempts, each by a ready successor."""
        ...

    async def release(self, run_id: str, step_ids: Collection[str]) -> None:
        """One need of each step finished: decrement its counter; at zero it is ready."""
        ...

    async def hold(self, run_id: str, needs: Mapping[str, int]) -> None:
        """Undo releases: raise each still-pending step's counter by its count.

        ``on_fail`` uses it for steps outside a loop that needs steps inside it: those
        steps will finish (and release them) once more.
        """
        ...

    async def skip_pending(self, run_id: str, step_ids: Collection[str], reason: str) -> list[str]:
        """Skip the still-pending current attempts of these steps; return the ids skipped."""
        ...

    async def claim(
        self,
        *,
        worker_id: str,
        limit: int,
        now: float,
        lease_until: float,
        run_id: str | None = None,
        start: Collection[str] = (),
        start_items: Collection[str] = (),
        labels: Collection[str] | None = None,
        hold: Collection[str] | None = None,
    ) -> list[AttemptRecord]:
        """Lease up to ``limit`` ready attempts (of running runs, due by ``now``).

        Attempts of steps in ``start`` (and for_each items of steps in
        ``start_items``) move straight to ``running``: the caller commits their
        ``step.started`` intent in this same transaction. ``hold`` says the same
        the other way round, for a run whose steps mostly start so: every step's
        attempt starts except those of the steps in ``hold`` (``start`` is then
        ignored; items still follow ``start_items``). With
        ``labels`` (label keys, see :func:`runwright.store.sql.label_subsets`),
        only attempts requiring one of those label sets are claimed.
        """
        ...

    async def reap_expired(self, now: float, *, limit: int = 500) -> list[AttemptRecord]:
        """Abandon attempts whose lease expired; reopen each with reason ``lease_expired``."""
        ...

    async def current_attempt(self, run_id: str, step_id: str, item: int) -> AttemptRecord | None:
        """The newest attempt of one step (or one for_each item)."""
        ...

    async def expand(self, attempt_id: int, items: int) -> None:
        """Make a for_each parent wait for ``items`` items, holding no worker or lease."""
        ...

    async def item_payload(self, run_id: str, step_id: str, item: int) -> str | None:
        """The JSON value of one for_each item."""
        ...

    async def step_payload(self, run_id: str, step_id: str) -> str | None:
        """The newest payload of a step's (non-item) attempts: an on_fail loop's feedback."""
        ...

    async def count_item(self, run_id: str, step_id: str, n: int = 1) -> AttemptRecord | None:
        """Count ``n`` finished for_each items on the step's current (parent) attempt.

        Returns the parent as updated (``waiting_on``: the items still to finish), or
        ``None`` when the step has no current attempt. One statement: it runs once
        per item (or per group of items committed together).
        """
        ...

    async def succeed_items(
        self,
        run_id: str,
        step_id: str,
        items: Sequence[tuple[int, int, str]],
        *,
        worker_id: str,
        at: float,
    ) -> AttemptRecord | None:
        """Several running items of one step succeeded: ``(attempt id, item, output JSON)``.

        Moves them all to ``succeeded``, writes their outputs and counts them on the
        parent, as :meth:`transition`, :meth:`put_output` and :meth:`count_item` would
        one by one, in a few statements. Raises :class:`IllegalTransition` (and writes
        nothing the caller may keep) if any of them is no longer running under
        ``worker_id``. Returns what :meth:`count_item` returns.
        """
        ...

    async def put_output(
        self, run_id: str, step_id: str, item: int, attempt_id: int, value_json: str
    ) -> None: ...

    async def outputs(
        self, run_id: str, keys: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], Any]: ...

    async def item_outputs(self, run_id: str, step_id: str) -> list[Any]:
        """Outputs of every item of a for_each step, in item order (None where missing)."""
        ...

    async def node_states(
        self, run_id: str, step_ids: Collection[str]
    ) -> dict[str, AttemptState]: ...

    async def add_events(self, events: Sequence[Event]) -> None: ...

    async def add_log_chunks(self, chunks: Sequence[LogChunk]) -> None:
        """Append masked log chunks; a chunk already stored (same attempt, stream, seq) is kept."""
        ...

    async def cache_get(self, key: str) -> CacheEntry | None: ...

    async def cache_put(
        self, key: str, *, kind: str, value_json: str, run_id: str, step_id: str
    ) -> None: ...

    async def current_attempts(
        self,
        run_id: str,
        states: Collection[AttemptState] | None = None,
        *,
        nodes_only: bool = False,
    ) -> list[AttemptRecord]:
        """The run's current attempts in creation order: only those in ``states`` if
        given, only those of steps rather than of for_each items with ``nodes_only``."""
        ...

    async def tally(self, run_id: str) -> RunTally:
        """The run's current attempts counted by state, without loading them."""
        ...

    async def record_process(self, attempt_id: int, process: str, *, worker_id: str) -> None:
        """Record the process group (JSON) an in-flight attempt of ``worker_id`` started.

        Raises :class:`~runwright.errors.IllegalTransition` if it is no longer in flight there.
        """
        ...

    async def abandoned_processes(
        self, run_id: str, step_id: str, item: int, *, before: int
    ) -> list[AttemptProcess]:
        """Process groups recorded by abandoned attempts of one step (or item) before ``before``."""
        ...


class Store(Protocol):
    """A runwright database: runs, attempts, events, outputs, blobs, cache, workers."""

    url: str

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

    async def get_run(self, run_id: str) -> RunRecord:
        """A run by id or unique id prefix; :class:`NotFoundError` otherwise."""
        ...

    async def run_status(self, run_id: str) -> RunStatus:
        """The status of the run with exactly this id, without reading its spec and inputs.

        What polling loops read; :class:`NotFoundError` if there is no such run.
        """
        ...

    async def list_runs(
        self, *, limit: int = 50, status: RunStatus | None = None
    ) -> list[RunRecord]:
        """Newest first."""
        ...

    async def attempts(
        self,
        run_id: str,
        *,
        include_superseded: bool = True,
        nodes_only: bool = False,
        step_id: str | None = None,
        item: int | None = None,
        after_id: int = 0,
        limit: int | None = None,
        states: Collection[AttemptState] | None = None,
    ) -> list[AttemptRecord]:
        """A run's attempts in id order: all, or a page (``after_id``, ``limit``), only
        those of steps rather than of for_each items (``nodes_only``), of one step
        (and item: -1 for the step's own), or only those in ``states``."""
        ...

    def iter_attempts(self, run_id: str, *, page: int = 2000) -> AsyncIterator[AttemptRecord]:
        """Every attempt of a run in id order, read ``page`` at a time."""
        ...

    async def item_counts(self, run_id: str) -> dict[str, ItemCounts]:
        """Per for_each step, its current items counted by the database."""
        ...

    async def events(
        self,
        run_id: str,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Collection[str] = (),
        step_id: str | None = None,
        min_level: int = 0,
    ) -> list[Event]: ...

    def iter_events(self, run_id: str) -> AsyncIterator[Event]: ...

    async def output(self, run_id: str, step_id: str, item: int) -> Any: ...

    async def output_refs(
        self,
        run_id: str,
        *,
        nodes_only: bool = False,
        after: tuple[str, int] | None = None,
        limit: int | None = None,
    ) -> list[OutputRef]:
        """A run's committed outputs by reference, in (step, item) order, or a page."""
        ...

    async def logs(
        self,
        run_id: str,
        *,
        after: int = 0,
        limit: int = 1000,
        step_id: str | None = None,
        item: int | None = None,
        streams: Collection[str] = (),
    ) -> list[LogChunk]:
        """A run's log chunks with ``id > after`` in commit order, blobs resolved."""
        ...

    async def log_streams(self, run_id: str) -> list[LogStream]:
        """Every (step, item, attempt, stream) a run logged, with chunk count and size."""
        ...

    async def cache_stats(self) -> CacheStats: ...

    async def cache_clear(self, *, kind: str | None = None) -> int: ...

    async def register_worker(self, worker: WorkerRecord) -> None: ...

    async def heartbeat(
        self,
        worker_id: str,
        *,
        now: float,
        lease_until: float,
        attempt_ids: Collection[int] | None = None,
    ) -> str | None:
        """Refresh the heartbeat and leases (only ``attempt_ids``' if given); return the state."""
        ...

    async def set_worker_state(
        self, worker_id: str, state: str, *, expected: str | None = None
    ) -> bool:
        """Set a worker's state (only if it is ``expected``, when given); True if it changed."""
        ...

    async def request_drain(self, worker_id: str) -> WorkerRecord: ...

    async def mark_lost_workers(self, *, now: float, silent_for: float) -> list[str]: ...

    async def workers(self, ids: Collection[str] | None = None) -> Mapping[str, WorkerRecord]: ...

    async def held_attempts(self) -> list[AttemptRecord]:
        """Attempts leased or running under some worker."""
        ...

    async def unsettled_runs(self, *, limit: int = 20) -> list[str]:
        """Running runs with nothing ready or held, awaiting a decision on their fate."""
        ...

    async def latencies(self, run_id: str) -> list[float]:
        """Seconds from ready to started for each started attempt of a run."""
        ...

    async def schedules(self) -> list[ScheduleRecord]: ...

    async def costs(self, *, run_id: str | None = None) -> list[CostRecord]:
        """Cost ledger rows (of one run, or all), oldest first."""
        ...

    async def reservations(self, *, run_id: str | None = None) -> list[ReservationRecord]:
        """Budget reservations (of one run, or all), oldest first."""
        ...

    async def schedule(self, name: str) -> ScheduleRecord: ...

    async def schedule_fires(self, name: str) -> list[tuple[int, str]]: ...

    def work_signal(self) -> asyncio.Event | None:
        """An event set when another process may have made work ready (None: poll)."""
        ...

    async def reset_connections(self) -> None:
        """Drop connections that died; called before retrying after StoreUnavailable."""
        ...

    async def close(self) -> None: ...
