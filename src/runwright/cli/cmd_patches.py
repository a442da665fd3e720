"""`runwright patches` and `runwright patch show|apply|rollback`: the patch ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from runwright.cli.app import G, app, no_database, read_async, run_async
from runwright.cli.output import emit_json, markup, out, table

if TYPE_CHECKING:
    from runwright.api.patches import PatchView
    from runwright.store.records_patches import PatchRecord

patch_app = typer.Typer(help="One patch of the ledger: show its diff, apply it, roll it back.")
app.add_typer(patch_app, name="patch")

PATCH_STYLE = {
    "proposed": "white",
    "validated": "cyan",
    "accepted": "blue",
    "applied": "green",
    "rejected": "red",
    "conflicted": "yellow",
    "rolled_back": "magenta",
}

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
ByOption = Annotated[
    str | None,
    typer.Option("--as", "--by", envvar="RUNWRIGHT_USER", help="Who decides (default: you)."),
]


def _state(state: str) -> Text:
    return Text(state, style=PATCH_STYLE.get(state, "white"))


def _where(p: PatchRecord) -> str:
    item = "" if p.item < 0 else f"[{p.item}]"
    return f"{p.run_id}/{p.step_id}{item}#{p.attempt}"


@app.command()
def patches(
    run: Annotated[str | None, typer.Option("--run", "-r", help="Only this run's.")] = None,
    state: Annotated[
        str | None,
        typer.Option("--state", "-s", help="Only patches in this state (e.g. validated)."),
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.")] = 200,
    json_: JsonOption = False,
) -> None:
    """List the patches agents proposed, oldest first, with their state."""
    from runwright import api
    from runwright.api import patches as patches_api

    async def go() -> list[PatchRecord]:
        async with api.Session(G.settings(), create=False) as session:
            return await patches_api.list_patches(
                session, run_id=run, state=state, agent=agent, limit=limit
            )

    found = read_async(go)
    if json_:
        emit_json([p.to_json() for p in found or []])
        return
    if found is None:
        out.print(no_database("patches"))
        return
    if not found:
        out.print("no patches" + (" matching" if run or state or agent else " yet"))
        return
    # Narrow enough for 80 columns; the agent and file names are in `patch show` / --json.
    grid = table("patch", "state", "from", "+/-", "reason", wrap=("reason",))
    for p in found:
        grid.add_row(
            p.id[:12],
            _state(p.state),
            _where(p),
            markup("[green]+{}[/] [red]-{}[/]", p.added, p.removed),
            p.reason or "",
        )
    out.print(grid)


def _diff_text(diff: str) -> Text:
    """The diff with the usual colours (plain when stdout is not a terminal)."""
    text = Text()
    for line in diff.splitlines(keepends=True):
        if line.startswith(("+++", "---", "diff --git", "index ")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        text.append(line, style=style)
    return text


@patch_app.command("show")
def show(
    patch_id: Annotated[str, typer.Argument(metavar="ID", help="Patch id or unique prefix.")],
    diff_only: Annotated[
        bool, typer.Option("--diff", help="Only the diff (pipe it to `git apply`).")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Show a patch: where it came from, its state, and its diff."""
    from runwright import api
    from runwright.api import patches as patches_api

    async def go() -> PatchView:
        async with api.Session(G.settings(), create=False) as session:
            return await patches_api.show_patch(session, patch_id)

    view = run_async(go)
    if json_:
        emit_json(view.to_json())
        return
    if not diff_only:
        p = view.record
        out.print(markup("patch [bold]{}[/]", p.id))
        out.print(Text.assemble("state:   ", _state(p.state), f"  {p.reason or ''}".rstrip()))
        out.print(f"from:    {_where(p)}" + (f" (agent {p.agent})" if p.agent else ""))
        out.print(f"repo:    {p.repo}")
        out.print(f"base:    {p.base}" + (f"  branch {p.branch}" if p.branch else ""))
        if p.applied_commit:
            out.print(f"applied: {p.applied_commit} on {p.applied_branch}")
        out.print(
            markup("files:   {} ([green]+{}[/] [red]-{}[/])", len(p.files), p.added, p.removed)
        )
        out.print()
    out.print(_diff_text(view.diff), end="")


@patch_app.command("apply")
def apply(
    patch_id: Annotated[str, typer.Argument(metavar="ID", help="Patch id or unique prefix.")],
    branch: Annotated[
        str | None,
        typer.Option("--branch", "-b", help="Target branch (default: the checked-out one)."),
    ] = None,
    accept: Annotated[
        bool,
        typer.Option("--accept", help="Accept a patch that passed no gate yet, and apply it."),
    ] = False,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="The commit's first line.")
    ] = None,
    by: ByOption = None,
    json_: JsonOption = False,
) -> None:
    """Apply a validated (or accepted) patch to a branch with a 3-way merge.

    The merge is made in a scratch worktree; the user's checkout is only updated
    (fast-forward) when it has the target branch checked out and no uncommitted changes.
    """
    from runwright import api
    from runwright.api import patches as patches_api

    async def go() -> PatchRecord:
        async with api.Session(G.settings(), create=False) as session:
            return await patches_api.apply(
                session, patch_id, branch=branch, accept=accept, by=by, message=message
            )

    done = run_async(go)
    if json_:
        emit_json(done.to_json())
        return
    out.print(
        markup(
            "patch {} [green]applied[/] to {} as {}",
            done.id[:12],
            done.applied_branch,
            (done.applied_commit or "")[:12],
        )
    )


@patch_app.command("rollback")
def rollback(
    patch_id: Annotated[str, typer.Argument(metavar="ID", help="Patch id or unique prefix.")],
    by: ByOption = None,
    json_: JsonOption = False,
) -> None:
    """Roll back an applied patch: `git revert` of its commit on its branch."""
    from runwright import api
    from runwright.api import patches as patches_api

    async def go() -> PatchRecord:
        async with api.Session(G.settings(), create=False) as session:
            return await patches_api.rollback(session, patch_id, by=by)

    done = run_async(go)
    if json_:
        emit_json(done.to_json())
        return
    out.print(markup("patch {} [magenta]rolled back[/]: {}", done.id[:12], done.reason or ""))
