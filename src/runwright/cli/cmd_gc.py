"""`runwright gc`: remove finished runs' worktrees and branches, kill orphaned agents."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runwright.cli.app import G, app, read_async
from runwright.cli.output import emit_json, markup, out, table

if TYPE_CHECKING:
    from runwright.agents.gc import GcReport

_KINDS = ("worktree", "branch", "record", "process")


@app.command()
def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only report what would be cleaned.")
    ] = False,
    repo: Annotated[
        list[Path] | None,
        typer.Option("--repo", help="Another repository to clean (repeatable)."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Remove worktrees, branches and files of finished runs; kill orphaned agent processes.

    Looks in this directory's repository, the repositories of patches in the ledger and
    those of the pipelines runs came from. What belongs to an unfinished run is kept.
    """
    from runwright import api
    from runwright.api import gc as gc_api

    async def go() -> GcReport:
        async with api.Session(G.settings(), create=False) as session:
            return await gc_api.gc(session, repos=repo or (), dry_run=dry_run)

    report = read_async(go)
    if json_:
        emit_json(report.to_json() if report is not None else None)
        return
    if report is None:
        out.print("nothing to clean: there is no database here")
        return
    verb = "would remove" if dry_run else "removed"
    if report.cleaned:
        grid = table("kind", "run", "what", wrap=("what",))
        for c in report.cleaned:
            grid.add_row(c.kind, c.run_id or "-", c.what)
        out.print(grid)
    counts = ", ".join(f"{report.count(k)} {k}(s)" for k in _KINDS if report.count(k))
    if counts:
        out.print(markup("{} {}", verb, counts))
    else:
        out.print("nothing to clean")
    if report.kept:
        out.print(markup("kept {} (unfinished or unknown runs)", str(len(report.kept))))
    for error in report.errors:
        out.print(markup("[red]error:[/] {}", error))
    if report.errors:
        raise typer.Exit(1)
