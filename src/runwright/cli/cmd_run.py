"""Commands that execute or change runs: run, resume, cancel, approve, reject."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from runwright import api
from runwright.api import RunResult
from runwright.cli import exits
from runwright.cli.app import G, app, escape, run_async
from runwright.cli.output import emit_json, err, out
from runwright.cli.progress import RunProgress
from runwright.errors import InputError
from runwright.settings import DEFAULT_CONCURRENCY
from runwright.states import RunStatus

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON object at the end.")]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, help="Attempts executed at once.")
]
LocalOpt = Annotated[
    bool,
    typer.Option(
        "--local",
        help="Execute in this process even on PostgreSQL (default there: wait for workers).",
    ),
]


def _inputs(pairs: list[str], file: Path | None) -> dict[str, Any]:
    from runwright.spec.inputs import parse_input_args

    values: dict[str, Any] = {}
    if file is not None:
        try:
            loaded = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read inputs from {file}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise InputError(f"{file} must hold a JSON object of input names to values")
        # Typed JSON values stay typed: a list given for a string input is refused, not text.
        values.update(loaded)
    values.update(parse_input_args(pairs))
    return values


def _finish(result: RunResult, *, json_: bool, started: float | None = None) -> None:
    status = result.status
    if json_:
        emit_json(result.to_json())
    elif status is RunStatus.SUCCEEDED:
        out.print(f"run [bold]{result.run_id}[/] [green]succeeded[/]")
    elif status is RunStatus.WAITING:
        steps = " ".join(result.waiting_for)
        out.print(
            f"run [bold]{result.run_id}[/] is [magenta]waiting[/] for approval of: {escape(steps)}"
        )
        for step in result.waiting_for:
            out.print(f"  approve: runwright approve {result.run_id} {escape(step)}")
            out.print(f"  reject:  runwright reject {result.run_id} {escape(step)} --reason '…'")
    elif status is RunStatus.CANCELLED:
        out.print(
            f"run [bold]{result.run_id}[/] [yellow]cancelled[/]; "
            f"resume it with: runwright resume {result.run_id}"
        )
    elif status is RunStatus.FAILED:
        out.print(f"run [bold]{result.run_id}[/] [red]failed[/]: {escape(result.error or '')}")
        out.print(
            f"  details: runwright show {result.run_id}   "
            f"retry the failed steps: runwright resume {result.run_id}"
        )
    elif status is RunStatus.RUNNING:
        out.print(f"run [bold]{result.run_id}[/] enqueued; `runwright worker` processes execute it")
        out.print(f"  follow: runwright tail {result.run_id} --follow")
    else:
        out.print(f"run [bold]{result.run_id}[/] is {status}")
    raise typer.Exit(exits.BY_STATUS.get(status, exits.RUN_FAILED))


def _progress(session: api.Session, json_: bool) -> RunProgress:
    return RunProgress(session, live=sys.stderr.isatty() and not json_, quiet=json_)


@app.command()
def run(
    file: Path,
    input: Annotated[list[str], typer.Option("--input", "-i", help="key=value (repeatable).")] = [],  # noqa: B006
    inputs: Annotated[Path | None, typer.Option("--inputs", help="JSON file of inputs.")] = None,
    concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Ignore cached results (still refresh them).")
    ] = False,
    workspace: Annotated[
        Path | None, typer.Option(help="Directory steps write files to (default: the pipeline's).")
    ] = None,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach",
            help="Only enqueue the run and print its id; `runwright worker` processes "
            "execute it (or `runwright resume` here).",
        ),
    ] = False,
    local: LocalOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Run a pipeline. Exit code 0 only if the run succeeded (10: waiting for approval)."""

    async def go() -> RunResult:
        values = _inputs(input, inputs)
        async with api.Session(G.settings()) as session:
            progress = _progress(session, json_)
            return await progress.follow(
                session.start_run(
                    file,
                    inputs=values,
                    inputs_are_strings=True,
                    no_cache=no_cache,
                    concurrency=concurrency,
                    workspace=workspace,
                    detach=detach,
                    local=local or not session.distributed,
                    handle_signals=True,
                    notify=lambda m: err.print(m),
                    on_run=progress.on_run,
                )
            )

    _finish(run_async(go), json_=json_)


@app.command()
def resume(
    run_id: str,
    accept_changes: Annotated[
        bool, typer.Option("--accept-changes", help="Resume even though the pipeline file changed.")
    ] = False,
    concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
    local: LocalOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Resume a crashed, killed, failed or cancelled run: only unfinished work runs again."""

    async def go() -> RunResult:
        async with api.Session(G.settings()) as session:
            progress = _progress(session, json_)
            result = await progress.follow(
                session.resume(
                    run_id,
                    accept_changes=accept_changes,
                    concurrency=concurrency,
                    local=local or not session.distributed,
                    handle_signals=True,
                    notify=lambda m: err.print(m),
                    on_run=progress.on_run,
                )
            )
        if not json_ and result.reopened:
            for reason, steps in result.reopened.items():
                err.print(f"  {reason}: {escape(', '.join(steps))}")
        return result

    _finish(run_async(go), json_=json_)


@app.command()
def cancel(run_id: str, json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Cancel a run (it can be resumed later)."""

    async def go() -> Any:
        async with api.Session(G.settings()) as session:
            return await session.cancel(run_id)

    run = run_async(go)
    if json_:
        emit_json({"run_id": run.id, "status": str(run.status)})
    else:
        out.print(f"run [bold]{run.id}[/] cancelled; resume it with: runwright resume {run.id}")


def _decide(
    run_id: str,
    step: str,
    *,
    approve: bool,
    note: str | None,
    by: str | None,
    wait: bool,
    concurrency: int,
    json_: bool,
) -> None:
    async def go() -> RunResult:
        async with api.Session(G.settings()) as session:
            progress = _progress(session, json_)
            progress.run_id = (await session.store.get_run(run_id)).id
            return await progress.follow(
                session.decide(
                    run_id,
                    step,
                    approve=approve,
                    by=by,
                    note=note,
                    continue_run=not wait,
                    local=not session.distributed,
                    concurrency=concurrency,
                    handle_signals=True,
                    notify=lambda m: err.print(m),
                )
            )

    _finish(run_async(go), json_=json_)


@app.command()
def approve(
    run_id: str,
    step: str,
    comment: Annotated[str | None, typer.Option(help="Recorded with the approval.")] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--as", "--by", envvar="RUNWRIGHT_USER", help="Who approves (default: the OS user)."
        ),
    ] = None,
    no_continue: Annotated[
        bool,
        typer.Option(
            "--no-continue", help="Only record the decision; do not continue the run here."
        ),
    ] = False,
    concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
    json_: JsonOpt = False,
) -> None:
    """Approve a waiting step; the run then continues in this process."""
    _decide(
        run_id,
        step,
        approve=True,
        note=comment,
        by=by,
        wait=no_continue,
        concurrency=concurrency,
        json_=json_,
    )


@app.command()
def reject(
    run_id: str,
    step: str,
    reason: Annotated[str | None, typer.Option(help="Why (recorded).")] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--as", "--by", envvar="RUNWRIGHT_USER", help="Who rejects (default: the OS user)."
        ),
    ] = None,
    concurrency: ConcurrencyOpt = DEFAULT_CONCURRENCY,
    json_: JsonOpt = False,
) -> None:
    """Reject a waiting step: it fails (and the run with it, unless on_failure: continue)."""
    _decide(
        run_id,
        step,
        approve=False,
        note=reason,
        by=by,
        wait=False,
        concurrency=concurrency,
        json_=json_,
    )
