"""Patch states and the moves between them (checked in one place)."""

from __future__ import annotations

from enum import StrEnum

from runwright.errors import PatchError


class PatchState(StrEnum):
    PROPOSED = "proposed"  # an agent made it
    VALIDATED = "validated"  # its gate passed
    ACCEPTED = "accepted"  # a person (or policy) said yes
    APPLIED = "applied"  # committed on its target branch
    REJECTED = "rejected"  # out of scope, gate failed, or a person said no
    CONFLICTED = "conflicted"  # did not apply cleanly
    ROLLED_BACK = "rolled_back"  # reverted on its branch after being applied


P = PatchState
MOVES: dict[PatchState, frozenset[PatchState]] = {
    P.PROPOSED: frozenset({P.VALIDATED, P.ACCEPTED, P.REJECTED, P.CONFLICTED}),
    P.VALIDATED: frozenset({P.ACCEPTED, P.APPLIED, P.REJECTED, P.CONFLICTED}),
    P.ACCEPTED: frozenset({P.APPLIED, P.REJECTED, P.CONFLICTED}),
    P.APPLIED: frozenset({P.ROLLED_BACK}),
    # A conflicted patch may be applied again once its target has moved on (or back).
    P.CONFLICTED: frozenset({P.APPLIED, P.CONFLICTED, P.REJECTED}),
    P.REJECTED: frozenset(),
    P.ROLLED_BACK: frozenset(),
}


def check_move(patch_id: str, old: PatchState, new: PatchState) -> None:
    """Raise :class:`PatchError` unless ``old -> new`` is allowed."""
    if new not in MOVES[old]:
        allowed = ", ".join(sorted(MOVES[old])) or "nothing (it is final)"
        raise PatchError(
            f"patch {patch_id[:12]} is {old}; it cannot become {new} (from {old}: {allowed})",
            patch=patch_id,
            state=str(old),
        )
