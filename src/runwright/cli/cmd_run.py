"""Commands that execute or change runs: run, resume, cancel, approve, reject."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runwright import api
from runwright.cli import exits
from runwright.cli.app import G, app, run_async
from runwright.cli.cmd_read import show_prompts
from runwright.cli.output import emit_json, err, markup, out
from runwright.errors import InputError
from runwright.settings import DEFAULT_CONCURRENCY
from runwright.states import RunStatus

if TYPE_CHECKING:
    # Imported lazily at run time: `runwright --help` must not load the engine.
    from runwright.api import RunResult
    from runwright.cli.progress import RunProgress

    Finished = tuple[RunResult, dict[str, str | None]]

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


async def _prompts(session: api.Session, result: RunResult) -> Finished:
    """The result, with what each approval it waits for asks."""
    from runwright.api.waiting import approval_prompts

    if result.status is not RunStatus.WAITING:
        return result, {}
    return result, await approval_prompts(session.store, result.run_id)


def _finish(finished: Finished, *, json_: bool) -> None:
    result, prompts = finished
    status, run_id = result.status, result.run_id
    if json_:
        emit_json(result.to_json())
    elif status is RunStatus.SUCCEEDED:
        out.print(markup("run [bold]{}[/] [green]succeeded[/]", run_id))
    elif status is RunStatus.WAITING:
        steps = " ".join(result.waiting_for)
        out.print(
            markup("run [bold]{}[/] is [magenta]waiting[/] for approval of: {}", run_id, steps)
        )
        show_prompts(run_id, {s: prompts.get(s) for s in result.waiting_for})
    elif status is RunStatus.CANCELLED:
        out.print(
            markup(
                "run [bold]{}[/] [yellow]cancelled[/]; resume it with: runwright resume {}",
                run_id,
                run_id,
            )
        )
    elif status is RunStatus.FAILED:
        out.print(markup("run [bold]{}[/] [red]failed[/]: {}", run_id, result.error or ""))
        out.print(
            f"  details: runwright show {run_id}   "
            f"retry the failed steps: runwright resume {run_id}"
        )
    elif status is RunStatus.RUNNING:
        out.print(
            markup("run [bold]{}[/] enqueued; `runwright worker` processes execute it", run_id)
        )
        out.print(f"  follow: runwright tail {run_id} --follow")
    else:
        out.print(markup("run [bold]{}[/] is {}", run_id, status))
    raise typer.Exit(exits.BY_STATUS.get(status, exits.RUN_FAILED))


@dataclass
class _Watch:
    """The run a command follows, so that Ctrl-C can say what becomes of it."""

    progress: RunProgress | None = None
    #: Executed in this process (Ctrl-C stops it there) or by workers (it carries on).
    local: bool = True

    def interrupted(self) -> None:
        run_id = self.progress.run_id if self.progress is not None else None
        if run_id is None or self.local:
            return
        err.print(
            f"run {run_id} stays queued in {G.where()}: any `runwright worker` on this "
            f"database picks it up. Stop it with: runwright cancel {run_id}   "
            f"or execute it here with: runwright resume {run_id} --local"
        )


def _progress(session: api.Session, json_: bool) -> RunProgress:
    from runwright.cli.progress import RunProgress

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

    watch = _Watch()

    async def go() -> Finished:
        values = _inputs(input, inputs)
        async with api.Session(G.settings(pipeline=file)) as session:
            watch.progress = progress = _progress(session, json_)
            watch.local = local or not session.distributed
            result = await progress.follow(
                session.start_run(
                    file,
                    inputs=values,
                    inputs_are_strings=True,
                    no_cache=no_cache,
                    concurrency=concurrency,
                    workspace=workspace,
                    detach=detach,
                    local=watch.local,
                    handle_signals=True,
                    notify=lambda m: err.print(m),
                    on_run=progress.on_run,
                )
            )
            return await _prompts(session, result)

    _finish(run_async(go, on_interrupt=watch.interrupted), json_=json_)


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

    watch = _Watch()

    async def go() -> Finished:
        async with api.Session(G.settings(), create=False) as session:
            watch.progress = progress = _progress(session, json_)
            watch.local = local or not session.distributed
            result = await progress.follow(
                session.resume(
                    run_id,
                    accept_changes=accept_changes,
                    concurrency=concurrency,
                    local=watch.local,
                    handle_signals=True,
                    notify=lambda m: err.print(m),
                    on_run=progress.on_run,
                )
            )
            if not json_ and result.reopened:
                for reason, steps in result.reopened.items():
                    err.print(f"  {reason}: {', '.join(steps)}")
            return await _prompts(session, result)

    _finish(run_async(go, on_interrupt=watch.interrupted), json_=json_)


@app.command()
def cancel(run_id: str, json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Cancel a run (it can be resumed later)."""

    async def go() -> Any:
        async with api.Session(G.settings(), create=False) as session:
            return await session.cancel(run_id)

    run = run_async(go)
    if json_:
        emit_json({"run_id": run.id, "status": str(run.status)})
    else:
        out.print(
            markup("run [bold]{}[/] cancelled; resume it with: runwright resume {}", run.id, run.id)
        )


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
    watch = _Watch()

    async def go() -> Finished:
        async with api.Session(G.settings(), create=False) as session:
            watch.progress = progress = _progress(session, json_)
            watch.local = not session.distributed
            progress.run_id = (await session.store.get_run(run_id)).id
            from runwright.api.waiting import approval_prompts

            asked = (await approval_prompts(session.store, progress.run_id)).get(step, False)
            if asked is not False and not json_:
                verdict = "approving" if approve else "rejecting"
                err.print(
                    markup("{} [bold]{}[/], which asks: {}", verdict, step, asked or "(no prompt)")
                )
            result = await progress.follow(
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
            return await _prompts(session, result)

    _finish(run_async(go, on_interrupt=watch.interrupted), json_=json_)


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
