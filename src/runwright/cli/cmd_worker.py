"""Worker commands: `worker` (serve), `worker drain ID`, `workers`."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runwright import api
from runwright.cli.app import G, app, no_database, read_async, run_async
from runwright.cli.output import ago, emit_json, err, markup, out, styled, table
from runwright.settings import DEFAULT_CONCURRENCY, DEFAULT_LEASE_SECONDS

if TYPE_CHECKING:
    from runwright.api import workers as worker_api
    from runwright.engine.worker import Worker

worker_app = typer.Typer(
    help="Run a worker that executes ready steps of any run in the database.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(worker_app, name="worker")


def _logging(debug: bool) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Library chatter (pool reconnects) is ours to summarise, not to repeat.
    logging.getLogger("psycopg").setLevel(logging.ERROR)


@worker_app.callback()
def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Attempts executed at once.")
    ] = DEFAULT_CONCURRENCY,
    label: Annotated[
        list[str],
        typer.Option("--label", "-l", help="A label this worker carries (repeatable)."),
    ] = [],  # noqa: B006
    lease_seconds: Annotated[
        float,
        typer.Option(
            "--lease-seconds",
            min=1.0,
            help="How long a claimed step stays this worker's without a heartbeat.",
        ),
    ] = DEFAULT_LEASE_SECONDS,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Do not fire schedules from this worker.")
    ] = False,
    scheduler_interval: Annotated[
        float,
        typer.Option("--scheduler-interval", min=0.05, help="Seconds between looks for due fires."),
    ] = 5.0,
) -> None:
    """Claim and execute ready steps until SIGTERM (drain) or a second SIGTERM (stop now)."""
    if ctx.invoked_subcommand is not None:
        return
    _logging(G.debug)

    def started(w: Worker) -> None:
        labels = ",".join(w.labels or []) or "none"
        err.print(
            markup(
                "worker [bold]{}[/] on {} (concurrency {}, labels {}); SIGTERM drains",
                w.id,
                G.where(),
                w.concurrency,
                labels,
            )
        )

    from runwright.api import workers as worker_api

    async def go() -> Worker:
        async with api.Session(G.settings()) as session:
            return await worker_api.serve(
                session,
                concurrency=concurrency,
                labels=label,
                lease_seconds=lease_seconds,
                scheduler=not no_scheduler,
                scheduler_interval=scheduler_interval,
                handle_signals=True,
                notify=lambda m: err.print(m),
                on_start=started,
            )

    w = run_async(go)
    err.print(f"worker {w.id} stopped")


@worker_app.command("drain")
def drain(
    worker_id: str,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Ask a worker to finish its in-flight steps, claim nothing new, and exit."""

    async def go() -> Any:
        async with api.Session(G.settings(), create=False) as session:
            from runwright.api import workers as worker_api

            return await worker_api.drain(session, worker_id)

    record = run_async(go)
    if json_:
        emit_json(record.to_json())
    else:
        out.print(markup("worker [bold]{}[/] is {}; it stops once idle", record.id, record.state))


@app.command()
def workers(
    all_: Annotated[
        bool, typer.Option("--all", help="Include stopped workers (lost ones are always shown).")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List live and lost workers: state, heartbeat and the steps they hold now."""

    from runwright.api import workers as worker_api

    async def go() -> list[worker_api.WorkerView]:
        async with api.Session(G.settings(), create=False) as session:
            return await worker_api.list_workers(session, include_stopped=all_ or json_)

    views = read_async(go)
    if json_:
        emit_json([v.to_json() for v in views or []])
        return
    if views is None:
        out.print(no_database("workers"))
        return
    if not views:
        out.print(f"no live workers in {G.where()}; start one with: runwright worker")
        return
    grid = table("worker", "state", "labels", "heartbeat", "running", wrap={"running"})
    for v in views:
        w = v.worker
        running = ", ".join(
            f"{a.run_id}/{a.step_id}" + (f"[{a.item}]" if a.item_or_none is not None else "")
            for a in v.attempts
        )
        grid.add_row(
            w.id,
            styled(w.state),
            ",".join(w.labels) or "-",
            ago(w.heartbeat_at),
            running or "-",
        )
    out.print(grid)
