"""Read commands: runs, show, tail, export, cache. Each takes --json."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from runwright import api
from runwright.cli.app import G, app, escape, run_async
from runwright.cli.output import ago, duration, emit_json, out, styled
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
        async with api.Session(G.settings()) as session:
            return await session.runs(limit=limit, status=status)

    records = run_async(go)
    if json_:
        emit_json([r.to_json() for r in records])
        return
    if not records:
        out.print("no runs yet; start one with: runwright run PIPELINE.yaml")
        return
    table = Table("run", "pipeline", "status", "started", "took", box=None)
    for r in records:
        table.add_row(
            r.id,
            escape(r.pipeline),
            styled(str(r.status)),
            ago(r.created_at),
            duration(r.started_at, r.finished_at),
        )
    out.print(table)


@app.command()
def show(run_id: str, json_: JsonOpt = False) -> None:
    """Show a run: its status, inputs and every step."""

    async def go() -> api.RunDetails:
        async with api.Session(G.settings()) as session:
            return await session.details(run_id)

    details = run_async(go)
    if json_:
        emit_json(details.to_json())
        return
    r = details.run
    out.print(
        f"run [bold]{r.id}[/]  pipeline [bold]{escape(r.pipeline)}[/]  "
        f"{styled(str(r.status))}  took {duration(r.started_at, r.finished_at)}"
    )
    if r.error:
        out.print(f"[red]error:[/] {escape(r.error)}")
    if r.inputs:
        out.print(f"inputs: {escape(json.dumps(r.inputs))}")
    from runwright.api.costs import money

    if details.cost is not None:
        out.print(f"cost: {money(details.cost.usd, details.cost.unknown)}")
    priced = details.cost is not None  # the cost column only for runs that called a model
    columns = ["step", "state", "attempts", "items", "took", *(["cost"] if priced else [])]
    table = Table(*columns, "output / error", box=None)
    for s in details.steps:
        items = f"{s.items_done}/{s.items}" if s.items else ""
        if s.items_cached:
            items += " cached" if s.items_cached == s.items else f" ({s.items_cached} cached)"
        table.add_row(
            escape(s.step_id),
            styled(s.state) + (" [cyan](cached)[/]" if s.cached and s.state != "cached" else ""),
            str(s.attempts),
            items,
            duration(s.started_at, s.finished_at) if s.started_at else "",
            *([money(s.cost.usd, s.cost.unknown) if s.cost else ""] if priced else []),
            escape((s.error or "")[:80]) if s.error else escape(s.output or ""),
        )
    out.print(table)
    for s in details.steps:
        if s.traceback and s.error:
            out.print(
                f"[dim]traceback of {escape(s.step_id)}: runwright logs {r.id} "
                f"{escape(s.step_id)}[/]"
            )


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
            out.print(escape(_line(e)), highlight=False)

    async def go() -> None:
        async with api.Session(G.settings()) as session:
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
        async with api.Session(G.settings()) as session:
            async for row in session.export(run_id, with_outputs=with_outputs):
                sys.stdout.write(json.dumps(row, default=str) + "\n")

    run_async(go)


cache_app = typer.Typer(help="Inspect or clear the step cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("stats")
def cache_stats(json_: JsonOpt = False) -> None:
    """Entries, bytes and hits in the cache."""

    async def go() -> Any:
        async with api.Session(G.settings()) as session:
            return await session.cache_stats()

    stats = run_async(go)
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
        out.print(f"  {escape(kind)}: {n}")


@cache_app.command("clear")
def cache_clear(
    kind: Annotated[str | None, typer.Option(help="Only entries of this step kind.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Delete cache entries."""

    async def go() -> int:
        async with api.Session(G.settings()) as session:
            return await session.cache_clear(kind=kind)

    n = run_async(go)
    if json_:
        emit_json({"deleted": n})
    else:
        out.print(f"deleted {n} cache entries")
