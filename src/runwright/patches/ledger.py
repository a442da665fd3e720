"""Recording patches and moving them between states, each move an event of its run.

Every function is one store transaction: the row, the diff blob and the event
commit together, so the ledger and the audit trail never disagree.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from runwright.events import Event, EventType, Level
from runwright.patches.scope import Scope, violations
from runwright.patches.states import PatchState, check_move
from runwright.repo.diff import Diff
from runwright.store.base import Store, Transaction
from runwright.store.records import NO_ITEM
from runwright.store.records_patches import PatchRecord

__all__ = ["PatchRecord", "diff_text", "get", "patches", "propose", "transition"]


def patch_id(base: str, diff_text: str) -> str:
    """The ledger id: sha256 of the base commit and the diff (same change, same id)."""
    return hashlib.sha256(f"{base}\n{diff_text}".encode()).hexdigest()


def _event(p: PatchRecord, type_: EventType, data: dict[str, Any], level: Level) -> Event:
    item = None if p.item == NO_ITEM else p.item
    return Event(type_, p.run_id, p.step_id, p.attempt, item, level, {"patch": p.id, **data})


async def propose(
    store: Store,
    *,
    run_id: str,
    step_id: str,
    item: int | None,
    attempt: int,
    attempt_id: int | None,
    agent: str | None,
    repo: Path,
    base: str,
    branch: str | None,
    diff: Diff,
    scope: Scope | None = None,
) -> PatchRecord:
    """Record an attempt's diff; out of scope, it is recorded and rejected at once.

    A diff already in the ledger (the same change on the same base, e.g. a resumed
    attempt) returns the existing entry unchanged.
    """
    now = time.time()
    record = PatchRecord(
        id=patch_id(base, diff.text),
        run_id=run_id,
        step_id=step_id,
        item=NO_ITEM if item is None else item,
        attempt=attempt,
        attempt_id=attempt_id,
        agent=agent,
        repo=str(repo),
        base=base,
        branch=branch,
        files=diff.files,
        added=diff.added,
        removed=diff.removed,
        diff_blob="",
        state=str(PatchState.PROPOSED),
        reason=None,
        applied_branch=None,
        applied_commit=None,
        created_at=now,
        updated_at=now,
    )
    broken = violations(diff, scope) if scope is not None else []
    async with store.transaction() as tx:
        blob = await tx.put_blob(diff.text.encode())
        record = replace(record, diff_blob=blob)
        if not await tx.insert_patch(record):
            return await tx.patch(record.id)
        stats = {"files": list(diff.files), "added": diff.added, "removed": diff.removed}
        await tx.add_events([_event(record, EventType.PATCH_PROPOSED, stats, Level.INFO)])
        if broken:
            reason = "scope: " + "; ".join(broken)
            record = await _move(tx, record, PatchState.REJECTED, reason=reason, by=None)
    return record


async def _move(
    tx: Transaction,
    p: PatchRecord,
    to: PatchState,
    *,
    reason: str | None,
    by: str | None,
    **fields: Any,
) -> PatchRecord:
    old = PatchState(p.state)
    check_move(p.id, old, to)
    now = time.time()
    await tx.update_patch(p.id, state=str(to), reason=reason, updated_at=now, **fields)
    data = {"from": str(old), "to": str(to), "reason": reason, "by": by}
    level = Level.WARNING if to in (PatchState.REJECTED, PatchState.CONFLICTED) else Level.INFO
    await tx.add_events([_event(p, EventType.PATCH_TRANSITION, data, level)])
    return replace(p, state=str(to), reason=reason, updated_at=now, **fields)


async def transition(
    store: Store,
    patch_id_or_prefix: str,
    to: PatchState,
    *,
    reason: str | None = None,
    by: str | None = None,
    **fields: Any,
) -> PatchRecord:
    """Move a patch to ``to`` (checked), recording why and by whom; the updated record."""
    async with store.transaction() as tx:
        current = await tx.patch(patch_id_or_prefix, lock=True)
        return await _move(tx, current, to, reason=reason, by=by, **fields)


async def get(store: Store, patch_id_or_prefix: str) -> PatchRecord:
    """A patch by id or unique prefix."""
    async with store.transaction() as tx:
        return await tx.patch(patch_id_or_prefix)


async def diff_text(store: Store, patch_id_or_prefix: str) -> str:
    """The patch's diff, from its blob."""
    async with store.transaction() as tx:
        p = await tx.patch(patch_id_or_prefix)
        return (await tx.blob(p.diff_blob)).decode()


async def patches(
    store: Store,
    *,
    run_id: str | None = None,
    state: str | None = None,
    agent: str | None = None,
    limit: int = 200,
) -> list[PatchRecord]:
    """Patches in the order they were proposed."""
    async with store.transaction() as tx:
        return await tx.patches(run_id=run_id, state=state, agent=agent, limit=limit)
