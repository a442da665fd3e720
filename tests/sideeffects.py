"""A side-effect log for shell steps, and the exactly-once check against attempt records.

Each execution of a shell step appends one line: its idempotency key and attempt
number (``RUNWRIGHT_IDEMPOTENCY_KEY``, ``RUNWRIGHT_ATTEMPT``). With the database's
attempt records that says precisely what ran again: a re-run is a later attempt
of the same key, and it is allowed only if every earlier attempt had not
committed (an attempt commits by becoming ``succeeded``; nothing of a key may run
after its succeeded attempt).
"""

from __future__ import annotations

import asyncio
import itertools
import shlex
from collections import Counter
from pathlib import Path

from runwright.states import AttemptState
from runwright.store import open_store
from runwright.store.records import NO_ITEM, AttemptRecord

#: Why a new attempt replaced one that had not committed.
RERUN_REASONS = {"lease_expired", "resumed"}


def shell_log(log: Path) -> str:
    """The shell line that records one execution (one O_APPEND write: lines never interleave)."""
    return f'echo "$RUNWRIGHT_IDEMPOTENCY_KEY $RUNWRIGHT_ATTEMPT" >> {shlex.quote(str(log))}'


def executions(log: Path) -> Counter[tuple[str, int]]:
    """How often each (idempotency key, attempt number) executed."""
    if not log.exists():
        return Counter()
    return Counter((k, int(n)) for k, n in (ln.split() for ln in log.read_text().splitlines()))


def attempts_of(db: str, run_id: str) -> list[AttemptRecord]:
    """Every attempt of the run, superseded ones included."""

    async def read() -> list[AttemptRecord]:
        store = open_store(db)
        try:
            return await store.attempts(run_id, include_superseded=True)
        finally:
            await store.close()

    return asyncio.run(read())


def key_of(a: AttemptRecord) -> str:
    return f"{a.run_id}:{a.step_id}" + ("" if a.item == NO_ITEM else f"[{a.item}]")


def assert_exactly_once(
    attempts: list[AttemptRecord], log: Path, *, steps: set[str]
) -> dict[str, list[int]]:
    """Every key of ``steps`` committed once; only attempts that had not committed ran again.

    Returns, per key that executed more than once, the attempt numbers that executed.
    """
    ran = executions(log)
    # A for_each parent executes nothing itself; its items do.
    fanned = {a.step_id for a in attempts if a.item != NO_ITEM}
    by_key: dict[str, list[AttemptRecord]] = {}
    for a in attempts:
        if a.step_id in steps and not (a.step_id in fanned and a.item == NO_ITEM):
            by_key.setdefault(key_of(a), []).append(a)
    logged_keys = {k for k, _ in ran}
    assert logged_keys <= set(by_key), f"executions without an attempt: {logged_keys - set(by_key)}"
    again: dict[str, list[int]] = {}
    for key, rows in by_key.items():
        rows.sort(key=lambda a: a.number)
        numbers = [a.number for a in rows]
        assert len(set(numbers)) == len(numbers), (key, rows)
        winners = [a for a in rows if a.state is AttemptState.SUCCEEDED]
        assert len(winners) == 1, f"{key} committed {len(winners)} times: {rows}"
        winner = winners[0]
        # Nothing ran after the commit: the succeeded attempt is the last one...
        assert winner is rows[-1], f"{key} has attempts after its commit: {rows}"
        # ...and each earlier one ended without committing and was replaced for that reason.
        for before, after in itertools.pairwise(rows):
            assert before.state is not AttemptState.SUCCEEDED, (key, rows)
            assert after.reason in RERUN_REASONS, (key, rows)
        logged = sorted(n for (k, n), count in ran.items() if k == key for _ in range(count))
        # Each attempt acted at most once, the committed one exactly once, none after it.
        assert len(set(logged)) == len(logged), f"an attempt of {key} acted twice: {logged}"
        assert winner.number in logged, f"{key}'s committed attempt never acted: {logged}"
        assert set(logged) <= set(numbers), (key, logged, rows)
        if len(logged) > 1:
            again[key] = logged
    return again
