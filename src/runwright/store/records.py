"""Plain rows the store returns. Rows hold no behaviour."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runwright.states import AttemptState, RunStatus

#: ``item`` stored for attempts that are not for_each items.
NO_ITEM = -1


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    pipeline: str
    spec_hash: str
    spec_source: str
    spec_path: str | None
    inputs: dict[str, Any]
    status: RunStatus
    created_at: float
    updated_at: float
    options: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.id,
            "pipeline": self.pipeline,
            "status": str(self.status),
            "spec_hash": self.spec_hash,
            "spec_path": self.spec_path,
            "inputs": self.inputs,
            "options": self.options,
            "error": self.error,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


@dataclass(frozen=True, slots=True)
class NewAttempt:
    run_id: str
    step_id: str
    number: int
    state: AttemptState
    item: int = NO_ITEM
    try_: int = 1
    reason: str | None = None
    waiting_on: int = 0
    not_before: float = 0.0
    #: JSON of a for_each item's value (first attempt of the item only).
    payload: str | None = None
    #: Labels a worker must carry to claim it (see :func:`runwright.store.sql.labels_key`).
    labels: str = ""


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    id: int
    run_id: str
    step_id: str
    item: int
    number: int
    try_: int
    state: AttemptState
    reason: str | None
    superseded: bool
    waiting_on: int
    not_before: float
    worker_id: str | None
    lease_expires: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None
    #: A for_each item's value (JSON), when the read that made this record fetched it
    #: (a claim does, so executing an item needs no second query); else ``None``.
    payload: str | None = field(default=None, repr=False, compare=False)

    @property
    def item_or_none(self) -> int | None:
        return None if self.item == NO_ITEM else self.item

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt_id": self.id,
            "step_id": self.step_id,
            "item": self.item_or_none,
            "attempt": self.number,
            "state": str(self.state),
            "reason": self.reason,
            "superseded": self.superseded,
            "worker_id": self.worker_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class AttemptProcess:
    """The process group an (abandoned) attempt started, as recorded right after spawn."""

    number: int
    worker_id: str | None
    #: JSON of a :class:`runwright.processes.ProcessGroup`.
    process: str


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    id: str
    host: str
    pid: int
    state: str
    concurrency: int
    labels: list[str]
    started_at: float
    heartbeat_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "worker_id": self.id,
            "host": self.host,
            "pid": self.pid,
            "state": self.state,
            "concurrency": self.concurrency,
            "labels": self.labels,
            "started_at": self.started_at,
            "heartbeat_at": self.heartbeat_at,
        }


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A cron schedule that starts runs of one pipeline file."""

    name: str
    spec_path: str
    cron: str
    tz: str
    inputs: dict[str, Any]
    catchup: str
    paused: bool
    #: Epoch seconds of the next fire time not yet handled.
    next_fire: int
    created_at: float
    last_fire: int | None = None
    last_run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.spec_path,
            "cron": self.cron,
            "tz": self.tz,
            "inputs": self.inputs,
            "catchup": self.catchup,
            "paused": self.paused,
            "next_fire": self.next_fire,
            "last_fire": self.last_fire,
            "last_run_id": self.last_run_id,
        }


@dataclass(frozen=True, slots=True)
class CacheEntry:
    key: str
    kind: str
    value: Any
    run_id: str
    step_id: str
    created_at: float


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """A for_each step's current items: how many, how many done (succeeded or cached)."""

    items: int
    done: int
    cached: int


@dataclass(frozen=True, slots=True)
class RunTally:
    """A run's current attempts as the database counts them: what settling a run needs.

    Counted in SQL so that deciding a run's fate costs the same for 10 steps as for
    100,000 items: nothing loads the attempts themselves.
    """

    #: Current (not superseded) attempts by state; states with none are absent.
    counts: Mapping[AttemptState, int]
    #: Leased or running attempts a worker holds (a for_each parent waiting for its
    #: items holds none).
    held: int
    #: The earliest ``not_before`` of a ready attempt, or ``None`` when none is ready.
    next_ready: float | None
    #: When the run's oldest current attempt was created (``None``: it has none).
    first_created: float | None


@dataclass(frozen=True, slots=True)
class CacheStats:
    entries: int
    bytes: int
    hits: int
    by_kind: dict[str, int]


@dataclass(frozen=True, slots=True)
class LogChunk:
    """One piece of one output stream of one attempt, masked before it was written.

    ``stream`` is ``stdout``, ``stderr`` or ``traceback``; ``seq`` counts the
    stream's chunks from 0; ``id`` (assigned on commit) orders a run's chunks.
    """

    run_id: str
    step_id: str
    item: int
    attempt: int
    stream: str
    seq: int
    text: str
    ts: float
    id: int | None = None

    @property
    def item_or_none(self) -> int | None:
        return None if self.item == NO_ITEM else self.item

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "step_id": self.step_id,
            "item": self.item_or_none,
            "attempt": self.attempt,
            "stream": self.stream,
            "seq": self.seq,
            "ts": self.ts,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class LogStream:
    """What one stream of one attempt holds: how many chunks and characters."""

    step_id: str
    item: int
    attempt: int
    stream: str
    chunks: int
    size: int


@dataclass(frozen=True, slots=True)
class OutputRef:
    """A committed output by reference: where it lives and how big its JSON is.

    ``blob`` is the sha256 of its blob when it is stored by reference (large
    outputs), None when it is stored inline in the outputs table.
    """

    step_id: str
    item: int
    attempt_id: int
    size: int
    blob: str | None
    #: The JSON text itself when it is stored inline (small), so reading it costs no query.
    inline_json: str | None = None

    @property
    def item_or_none(self) -> int | None:
        return None if self.item == NO_ITEM else self.item

    def to_json(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "item": self.item_or_none,
            "attempt_id": self.attempt_id,
            "size": self.size,
            "blob": self.blob,
        }


@dataclass(frozen=True, slots=True)
class BreakerRecord:
    """One provider endpoint's circuit breaker (``state``: closed, open, half_open)."""

    endpoint: str
    state: str
    failures: int = 0
    #: While open: when a probe may be let through.
    open_until: float | None = None
    #: While half-open: the probe's lease; another caller may probe once it passed.
    probe_until: float | None = None
    #: The last failure's message (the provider's words, key scrubbed).
    last_error: str | None = None
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class RateWindow:
    """Requests and tokens counted against one endpoint in one minute (unix time // 60)."""

    endpoint: str
    minute: int
    requests: int = 0
    tokens: int = 0
