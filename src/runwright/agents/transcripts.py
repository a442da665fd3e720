"""Agent sessions kept in the store, so another machine can continue them.

A CLI such as Claude Code keeps its conversation on the machine it ran on. When an
agent run ends, what the preset keeps of its session (:meth:`Preset.session_record`,
secrets masked) is stored as a blob and named in the ``agent.finished`` event; an
attempt that continues the session where the disk does not have it installs it from
there (a retry on another worker, a resume after the first machine went away).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from runwright.agents.preset import Preset
from runwright.errors import NotFoundError
from runwright.events import EventType
from runwright.steps.base import StepContext

#: Where ``agent.finished`` names the blob of the session's record.
FIELD = "transcript"


async def keep(
    ctx: StepContext, preset: Preset, session: str | None, cwd: Path, env: Mapping[str, str]
) -> str | None:
    """Store what ``preset`` keeps of ``session``; the blob's sha256 (None: nothing kept)."""
    if ctx.store is None or not session:
        return None
    data = await asyncio.to_thread(preset.session_record, session, cwd, env, ctx.redactor.redact)
    if data is None:
        return None
    async with ctx.store.transaction() as tx:
        return await tx.put_blob(data)


async def saved(ctx: StepContext, session: str) -> bytes | None:
    """The latest record of ``session`` any agent run of this run kept, if one did."""
    if ctx.store is None:
        return None
    sha = None
    after = 0
    while batch := await ctx.store.events(
        ctx.run_id, after=after, types=[str(EventType.AGENT_FINISHED)]
    ):
        for event in batch:
            if event.data.get("session_id") == session and event.data.get(FIELD):
                sha = str(event.data[FIELD])
        after = batch[-1].seq or after
        if len(batch) < 1000:
            break
    if sha is None:
        return None
    try:
        async with ctx.store.transaction() as tx:
            return await tx.blob(sha)
    except NotFoundError:
        return None
