"""The patch ledger for people: list, show, apply and roll back patches (thin over patches/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runwright.errors import UsageError
from runwright.patches import ledger
from runwright.patches.apply import apply_patch, rollback_patch
from runwright.patches.states import PatchState
from runwright.store.records_patches import PatchRecord

if TYPE_CHECKING:
    from runwright.api.session import Session

STATES: tuple[str, ...] = tuple(str(s) for s in PatchState)


@dataclass(frozen=True, slots=True)
class PatchView:
    """One patch and its diff."""

    record: PatchRecord
    diff: str

    def to_json(self) -> dict[str, Any]:
        return {**self.record.to_json(), "diff": self.diff}


def _who(by: str | None) -> str:
    from runwright.api.session import _os_user

    return by or _os_user()


async def list_patches(
    session: Session,
    *,
    run_id: str | None = None,
    state: str | None = None,
    agent: str | None = None,
    limit: int = 200,
) -> list[PatchRecord]:
    """Patches in the order they were proposed, optionally of one run, state or agent."""
    if state is not None and state not in STATES:
        raise UsageError(f"unknown patch state {state!r}; use one of {', '.join(STATES)}")
    return await ledger.patches(session.store, run_id=run_id, state=state, agent=agent, limit=limit)


async def show_patch(session: Session, patch_id: str) -> PatchView:
    """A patch (by id or unique prefix) with its diff."""
    record = await ledger.get(session.store, patch_id)
    return PatchView(record, await ledger.diff_text(session.store, record.id))


async def apply(
    session: Session,
    patch_id: str,
    *,
    branch: str | None = None,
    accept: bool = False,
    by: str | None = None,
    message: str | None = None,
) -> PatchRecord:
    """Apply a validated or accepted patch to ``branch`` (default: the checked-out one).

    ``accept``: a person accepts a patch still ``proposed`` (no gate) and applies it.
    """
    return await apply_patch(
        session.store, patch_id, branch=branch, message=message, by=_who(by), accept=accept
    )


async def rollback(session: Session, patch_id: str, *, by: str | None = None) -> PatchRecord:
    """Revert an applied patch on its branch."""
    return await rollback_patch(session.store, patch_id, by=_who(by))
