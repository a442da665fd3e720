"""Read commands: runs, show, tail, export, cache. Each takes --json."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from runwright import api
from runwright.cli.app import G, app, no_database, read_async, run_async
from runwright.cli.output import (
    ago,
    duration,
    emit_json,
    emit_json_with,
    markup,
    out,
    shorten,
    styled,
    table,
)
from runwright.errors import UsageError
from runwright.events import Event, Level
from runwright.states import RunStatus

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command()
def runs(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 20,
    status: Annotated[RunStatus | None, typer.Option(help="Only runs in this status.")] = None,
    json_: JsonOpt = False,
) -> None:
    """List runs, newest first."""

    async def go() -> list[Any]:
        async with api.Session(G.settings(), create=False) as session:
            return await session.runs(limit=limit, status=status)

    records = read_async(go)
    if json_:
        emit_json([r.to_json() for r in records or []])
        return
    if records is None:
        out.print(no_database("runs"))
        return
    if not records:
        out.print(f"no runs yet in {G.where()}; start one with: runwright run PIPELINE.yaml")
        return
    grid = table("run", "pipeline", "status", "started", "took", wrap={"pipeline"})
    for r in records:
        grid.add_row(
            r.id,
            r.pipeline,
            styled(str(r.status)),
            ago(r.created_at),
            duration(r.started_at, r.finished_at),
        )
    out.print(grid)


@app.command()
def show(run_id: str, json_: JsonOpt = False) -> None:
    """Show a run: its status, inputs and every step."""

    async def go() -> tuple[api.RunDetails, dict[str, str | None]] | None:
        async with api.Session(G.settings(), create=False) as session:
            from runwright.api.waiting import approval_prompts

            details = await session.details(run_id)
            if json_:
                # Every attempt, for_each items too, streamed: never all in memory.
                rows = (a.to_json() async for a in session.attempts(details.run.id))
                await emit_json_with(details.to_json(), "attempts", rows)
                return None
            return details, await approval_prompts(session.store, details.run.id)

    shown = run_async(go)
    if shown is None:
        return
    details, prompts = shown
    r = details.run
    out.print(
        markup("run [bold]{}[/]  pipeline [bold]{}[/]  ", r.id, r.pipeline)
        + styled(str(r.status))
        + f"  took {duration(r.started_at, r.finished_at)}"
    )
    if r.error:
        out.print(markup("[red]error:[/] {}", r.error))
    if r.inputs:
        out.print(f"inputs: {json.dumps(r.inputs)}")
    from runwright.api.costs import money

    if details.cost is not None:
        out.print(f"cost: {money(details.cost.usd, details.cost.unknown)}")
    priced = details.cost is not None  # the cost column only for runs that called a model
    columns = ["step", "state", "attempts", "items", "took", *(["cost"] if priced else [])]
    grid = table(*columns, "output / error", wrap={"output / error"})
    for s in details.steps:
        items = f"{s.items_done}/{s.items}" if s.items else ""
        if s.items_cached:
            items += " cached" if s.items_cached == s.items else f" ({s.items_cached} cached)"
        state = styled(s.state)
        if s.cached and s.state != "cached":
            state.append(" (cached)", style="cyan")
        grid.add_row(
            s.step_id,
            state,
            str(s.attempts),
            items,
            duration(s.started_at, s.finished_at) if s.started_at else "",
            *([money(s.cost.usd, s.cost.unknown) if s.cost else ""] if priced else []),
            # The whole error is in --json and `tail`; here its first words, marked as cut.
            shorten(s.error, ERROR_WIDTH) if s.error else shorten(s.output or "", ERROR_WIDTH),
        )
    out.print(grid)
    for s in details.steps:
        if s.traceback and s.error:
            out.print(
                markup("[dim]traceback of {}: runwright logs {} {}[/]", s.step_id, r.id, s.step_id)
            )
    show_prompts(r.id, prompts)


#: How much of a step's error `show` puts in its table.
ERROR_WIDTH = 120


def show_prompts(run_id: str, prompts: dict[str, str | None]) -> None:
    """What each waiting approval asks, and how to answer it."""
    for step, prompt in sorted(prompts.items()):
        out.print(markup("[magenta]{}[/] waits for approval: {}", step, prompt or "(no prompt)"))
        out.print(f"  approve: runwright approve {run_id} {step}")
        out.print(f"  reject:  runwright reject {run_id} {step} --reason '…'")


def _line(e: Event) -> str:
    where = ""
    if e.step_id:
        where = e.step_id + (f"[{e.item}]" if e.item is not None else "")
        where += f"#{e.attempt}" if e.attempt else ""
    data = json.dumps(e.data, default=str)
    return f"{e.seq:>6} {ago(e.ts):>8} {e.level:<7} {e.type:<20} {where:<24} {data}"


@app.command()
def tail(
    run_id: str,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events until the run ends.")
    ] = False,
    level: Annotated[Level, typer.Option(help="Minimum level.")] = Level.DEBUG,
    step: Annotated[str | None, typer.Option(help="Only this step's events.")] = None,
    type: Annotated[
        list[str], typer.Option("--type", "-t", help="Only these event types (repeatable).")
    ] = [],  # noqa: B006
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Print a run's events (optionally following new ones)."""
    filters: dict[str, Any] = {"types": type, "step_id": step, "min_level": level.rank}

    def show_event(e: Event) -> None:
        if json_:
            emit_json(e.to_json())
        else:
            out.print(_line(e))

    async def go() -> None:
        async with api.Session(G.settings(), create=False) as session:
            if follow:
                async for event in session.follow(run_id, **filters):
                    show_event(event)
            else:
                after = 0
                while batch := await session.events(run_id, after=after, limit=5000, **filters):
                    for event in batch:
                        show_event(event)
                    after = batch[-1].seq or after

    run_async(go)


@app.command()
def export(
    run_id: str,
    format: Annotated[str, typer.Option("--format", help="jsonl")] = "jsonl",
    with_outputs: Annotated[
        bool,
        typer.Option(
            "--with-outputs",
            help="Put each output's value in its row (blobs resolved); "
            "without it, output rows carry the blob id and size.",
        ),
    ] = False,
) -> None:
    """Export a run (record, attempts, outputs, events) as JSON lines."""

    async def go() -> None:
        if format != "jsonl":
            raise UsageError(f"unknown export format {format!r}; use jsonl")
        async with api.Session(G.settings(), create=False) as session:
            async for row in session.export(run_id, with_outputs=with_outputs):
                sys.stdout.write(json.dumps(row, default=str) + "\n")

    run_async(go)


cache_app = typer.Typer(help="Inspect or clear the step cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("stats")
def cache_stats(json_: JsonOpt = False) -> None:
    """Entries, bytes and hits in the cache."""

    async def go() -> Any:
        async with api.Session(G.settings(), create=False) as session:
            return await session.cache_stats()

    stats = read_async(go)
    if stats is None:
        if json_:
            emit_json({"entries": 0, "bytes": 0, "hits": 0, "by_kind": {}})
        else:
            out.print(no_database("cache entries"))
        return
    if json_:
        emit_json(
            {
                "entries": stats.entries,
                "bytes": stats.bytes,
                "hits": stats.hits,
                "by_kind": stats.by_kind,
            }
        )
        return
    out.print(f"{stats.entries} entries, {stats.bytes} bytes, {stats.hits} hits")
    for kind, n in sorted(stats.by_kind.items()):
        out.print(f"  {kind}: {n}")


@cache_app.command("clear")
def cache_clear(
    kind: Annotated[str | None, typer.Option(help="Only entries of this step kind.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Delete cache entries."""

    async def go() -> int:
        async with api.Session(G.settings(), create=False) as session:
            return await session.cache_clear(kind=kind)

    n = read_async(go)
    if json_:
        emit_json({"deleted": n or 0})
    elif n is None:
        out.print(no_database("cache entries to delete"))
    else:
        out.print(f"deleted {n} cache entries")
