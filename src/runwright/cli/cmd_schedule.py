"""Schedule commands: add, list, pause, resume, remove. Each takes --json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from runwright import api
from runwright.cli.app import G, app, no_database, read_async, run_async
from runwright.cli.output import emit_json, markup, out, styled
from runwright.schedule.cron import CATCHUP_POLICIES, DEFAULT_CATCHUP, fire_time_iso
from runwright.store.records import ScheduleRecord

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

schedule_app = typer.Typer(
    help="Start runs of a pipeline on a cron schedule (`runwright worker` processes fire them).",
    no_args_is_help=True,
)
app.add_typer(schedule_app, name="schedule")


def _schedules() -> ModuleType:
    from runwright.api import schedules

    return schedules


def _call(fn: Callable[[api.Session], Awaitable[T]], *, create: bool = False) -> T:
    """Call ``fn`` with a session; only ``create`` (adding a schedule) may make the database."""

    async def go() -> T:
        async with api.Session(G.settings(), create=create) as session:
            return await fn(session)

    return run_async(go)


def _next(s: ScheduleRecord) -> str:
    return "paused" if s.paused else fire_time_iso(s.next_fire, s.tz)


def _show(s: ScheduleRecord, what: str, json_: bool) -> None:
    if json_:
        emit_json(s.to_json())
        return
    out.print(markup("schedule [bold]{}[/] {}; next fire: {}", s.name, what, _next(s)))


@schedule_app.command("add")
def add(
    name: str,
    file: Path,
    cron: Annotated[
        str,
        typer.Option(
            "--cron", help='Five fields: minute hour day month weekday, e.g. "*/5 * * * *".'
        ),
    ],
    input: Annotated[list[str], typer.Option("--input", "-i", help="key=value (repeatable).")] = [],  # noqa: B006
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone the cron is read in.")] = "UTC",
    catchup: Annotated[
        str,
        typer.Option(
            "--catchup",
            help=f"Fire times missed while no scheduler ran: {', '.join(CATCHUP_POLICIES)}"
            " (none: skip them; latest: run the newest once; all: run each).",
        ),
    ] = DEFAULT_CATCHUP,
    json_: JsonOpt = False,
) -> None:
    """Add a schedule that starts a run of FILE at each fire time of --cron."""

    async def go(session: api.Session) -> ScheduleRecord:
        from runwright.api import schedules
        from runwright.spec.inputs import parse_input_args

        return await schedules.add_schedule(
            session, name, file, cron=cron, tz=tz, inputs=parse_input_args(input), catchup=catchup
        )

    _show(_call(go, create=True), "added", json_)


@schedule_app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List schedules with their next fire time (in each schedule's time zone)."""

    async def go() -> list[ScheduleRecord]:
        async with api.Session(G.settings(), create=False) as session:
            from runwright.api import schedules

            return await schedules.list_schedules(session)

    records = read_async(go)
    if json_:
        emit_json([s.to_json() for s in records or []])
        return
    if records is None:
        out.print(no_database("schedules"))
        return
    if not records:
        out.print(
            f"no schedules in {G.where()}; add one with: "
            'runwright schedule add NAME FILE --cron "0 * * * *"'
        )
        return
    # The file is left to --json: with it the table no longer fits 80 columns.
    table = Table(box=None)
    for column in ("schedule", "cron", "tz", "catchup", "next fire", "last run"):
        # In a narrow terminal the other columns wrap; a cut-off time would be useless.
        table.add_column(column, overflow="fold", no_wrap=column == "next fire")
    for s in records:
        table.add_row(
            s.name,
            s.cron,
            s.tz,
            s.catchup,
            styled("paused") if s.paused else _next(s),
            s.last_run_id or "-",
        )
    out.print(table)


@schedule_app.command("remove")
def remove(name: str, json_: JsonOpt = False) -> None:
    """Remove a schedule (the runs it started are kept)."""
    record = _call(lambda session: _schedules().remove_schedule(session, name))
    if json_:
        emit_json(record.to_json())
    else:
        out.print(markup("removed schedule [bold]{}[/]", name))


@schedule_app.command("pause")
def pause(name: str, json_: JsonOpt = False) -> None:
    """Stop a schedule from starting runs until it is resumed."""
    _show(_call(lambda session: _schedules().pause_schedule(session, name)), "paused", json_)


@schedule_app.command("resume")
def resume(name: str, json_: JsonOpt = False) -> None:
    """Resume a paused schedule; fire times missed while paused are not run."""
    _show(_call(lambda session: _schedules().resume_schedule(session, name)), "resumed", json_)
