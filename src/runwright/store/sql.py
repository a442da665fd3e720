"""What the SQL stores share: the cursor seam, the dialect, column lists and row mappers.

Statements are written once, with ``?`` placeholders, in the SQL both SQLite
(3.35+) and PostgreSQL accept; a :class:`Dialect` holds the few clauses that
differ, and each cursor adapts placeholders to its driver.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Protocol

from runwright.states import AttemptState, RunStatus
from runwright.store.records import AttemptRecord, RunRecord, WorkerRecord

Row = Sequence[Any]

#: Outputs larger than this (bytes of JSON) are stored once in ``blobs`` by reference.
BLOB_THRESHOLD = 16 * 1024
#: A worker may carry at most this many labels (claims match every subset of them).
MAX_WORKER_LABELS = 8

ATTEMPT_COLUMNS = (
    "id, run_id, step_id, item, number, try, state, reason, superseded, waiting_on,"
    " not_before, worker_id, lease_expires, created_at, started_at, finished_at, error"
)
#: Selects whole runs (spec text included); append ``WHERE r.…``.
RUN_SELECT = (
    "SELECT r.id, r.pipeline, r.spec_hash, s.source, r.spec_path, r.inputs, r.status,"
    " r.created_at, r.updated_at, r.options, r.error, r.started_at, r.finished_at"
    " FROM runs r JOIN run_specs s ON s.run_id = r.id"
)
WORKER_COLUMNS = "id, host, pid, state, concurrency, labels, started_at, heartbeat_at"


class Cursor(Protocol):
    """The three calls the shared SQL needs from a driver connection."""

    async def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Execute and fetch every row (``RETURNING`` included)."""
        ...

    async def count(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Execute and return the number of rows changed."""
        ...

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """The clauses that differ between databases."""

    name: str
    #: Appended to the claim's inner SELECT so concurrent claimers skip each other's rows.
    skip_locked: str = ""
    #: Appended to a SELECT of one row that the transaction will decide on alone.
    lock_row: str = ""


SQLITE = Dialect("sqlite")
POSTGRESQL = Dialect(
    "postgresql", skip_locked=" FOR UPDATE OF a SKIP LOCKED", lock_row=" FOR UPDATE"
)


def marks(values: Collection[Any]) -> str:
    """``?,?,?`` for an ``IN (…)`` list of ``values``."""
    return ",".join("?" * len(values))


def labels_key(labels: Collection[str]) -> str:
    """The canonical text of a label set, as stored on attempts: sorted, comma-joined."""
    return ",".join(sorted(set(labels)))


def label_subsets(labels: Collection[str]) -> list[str]:
    """Every label set a worker with ``labels`` can serve, as :func:`labels_key` texts.

    A step requires a set of labels; a worker serves it when the step's set is a
    subset of the worker's. Matching the stored key against the worker's (few)
    subsets keeps the claim a plain indexed ``IN`` on both databases.
    """
    unique = sorted(set(labels))
    return [",".join(c) for n in range(len(unique) + 1) for c in combinations(unique, n)]


def attempt_from_row(row: Row) -> AttemptRecord:
    return AttemptRecord(
        int(row[0]),
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        AttemptState(row[6]),
        row[7],
        bool(row[8]),
        row[9],
        row[10],
        row[11],
        row[12],
        row[13],
        row[14],
        row[15],
        row[16],
        row[17] if len(row) > 17 else None,
    )


def run_from_row(r: Row) -> RunRecord:
    return RunRecord(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        json.loads(r[5]),
        RunStatus(r[6]),
        r[7],
        r[8],
        json.loads(r[9]),
        r[10],
        r[11],
        r[12],
    )


def worker_from_row(r: Row) -> WorkerRecord:
    return WorkerRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7])
