"""``runwright gc`` through the API: clean finished runs' worktrees, branches and orphans."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from runwright.agents.gc import GcReport, collect
from runwright.api.session import Session


async def gc(
    session: Session,
    *,
    repos: Iterable[str | Path] = (),
    dry_run: bool = False,
    processes: bool = True,
) -> GcReport:
    """One gc pass over ``repos``, the project directory's repository and those the store
    knows (patches, pipeline files); with ``dry_run`` it only reports what it would do."""
    extra = [Path(r) for r in repos] + [session.settings.project_dir]
    return await collect(session.store, repos=extra, dry_run=dry_run, processes=processes)
