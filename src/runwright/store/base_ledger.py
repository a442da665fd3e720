"""The ledger part of a store transaction: diff blobs, patches, trust grants, and gc.

Kept apart from :mod:`runwright.store.base` (the engine's part); the full
:class:`~runwright.store.base.Transaction` protocol includes this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Collection

    from runwright.states import RunStatus
    from runwright.store.records_gc import EndedProcess
    from runwright.store.records_patches import PatchRecord
    from runwright.store.records_trust import PatchCounts, TrustGrant


class LedgerTransaction(Protocol):
    """Writes and reads of the patch ledger and trust levels, inside one transaction."""

    async def add_trust_grant(self, grant: TrustGrant) -> None:
        """Record a person's promotion of an agent preset to a trust level."""
        ...

    async def trust_grants(self, agent: str | None = None) -> list[TrustGrant]:
        """Every promotion (of ``agent``), oldest first."""
        ...

    async def patch_counts(self) -> list[PatchCounts]:
        """Each agent preset's patches in the ledger, counted by outcome."""
        ...

    async def put_blob(self, data: bytes) -> str:
        """Store ``data`` content-addressed (idempotent); its sha256."""
        ...

    async def blob(self, sha: str) -> bytes:
        """A blob's bytes; :class:`~runwright.errors.NotFoundError` if missing."""
        ...

    async def insert_patch(self, p: PatchRecord) -> bool:
        """Add a patch to the ledger; False when its id is already there."""
        ...

    async def patch(self, id_or_prefix: str, *, lock: bool = False) -> PatchRecord:
        """A patch by id or unique prefix (``lock``: hold its row until commit)."""
        ...

    async def update_patch(self, patch_id: str, **fields: Any) -> None:
        """Set columns of a patch (the ledger validates moves first)."""
        ...

    async def patches(
        self,
        *,
        run_id: str | None = None,
        state: str | None = None,
        agent: str | None = None,
        limit: int = 200,
    ) -> list[PatchRecord]:
        """Patches in the order they were proposed, filtered."""
        ...

    async def run_states(self, run_ids: Collection[str]) -> dict[str, RunStatus]:
        """The status of each of ``run_ids`` that exists (for gc)."""
        ...

    async def gc_repositories(self) -> list[str]:
        """Every repository a patch in the ledger came from (where worktrees may be)."""
        ...

    async def pipeline_paths(self) -> list[str]:
        """Every pipeline file a run was started from (their repositories hold worktrees)."""
        ...

    async def ended_processes(self, *, limit: int = 10_000) -> list[EndedProcess]:
        """Process groups recorded by attempts no longer in flight, newest first."""
        ...
