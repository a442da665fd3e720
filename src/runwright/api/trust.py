"""Trust records and promotions, for ``runwright trust`` (thin over runwright.governance)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runwright.governance.record import TrustRecord, promote, trust_records

if TYPE_CHECKING:
    from runwright.api.session import Session
    from runwright.config.trust import TrustConfig
    from runwright.store.records_trust import TrustGrant


def _trust_config(session: Session) -> TrustConfig:
    from runwright.config import LoadedConfig

    return (session.settings.config or LoadedConfig.empty()).config.trust


async def records(session: Session) -> list[TrustRecord]:
    """Each agent preset's record from the patch ledger and its promotions."""
    return await trust_records(session.store, _trust_config(session))


async def promote_agent(
    session: Session, agent: str, level: str, *, by: str | None = None, note: str | None = None
) -> TrustGrant:
    """Record a person's promotion of ``agent`` to ``level`` (``by``: default the OS user)."""
    from runwright.api.session import _os_user

    return await promote(session.store, agent, level, by=by or _os_user(), note=note)
