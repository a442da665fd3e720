"""Typer application: global options, error handling, and command registration."""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from runwright._version import __version__
from runwright.cli import exits
from runwright.cli.output import err
from runwright.errors import RunwrightError
from runwright.settings import Settings

T = TypeVar("T")

app = typer.Typer(
    name="runwright",
    help="Run AI development pipelines durably: a killed run resumes where it stopped.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class Globals:
    db: str | None = None
    debug: bool = False
    durability: str | None = None
    config: Path | None = None

    def settings(self, *, pipeline: Path | None = None) -> Settings:
        """Settings for a command; ``pipeline``: look for runwright.toml from its directory."""
        return Settings.from_env(
            os.environ,
            cwd=Path.cwd(),
            db=self.db,
            durability=self.durability,
            config=self.config,
            search_from=pipeline.resolve().parent if pipeline is not None else None,
        )


G = Globals()


def _version(value: bool) -> None:
    if value:
        print(f"runwright {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL or SQLite path (default: .runwright/runwright.db; "
            "env RUNWRIGHT_DATABASE_URL).",
        ),
    ] = None,
    durability: Annotated[
        str | None,
        typer.Option(
            help="normal (WAL, survives process crashes) or strict (fsync every commit; "
            "env RUNWRIGHT_DURABILITY)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="runwright.toml to use (default: found from the pipeline's directory "
            "upwards; env RUNWRIGHT_CONFIG).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    G.db, G.debug, G.durability, G.config = db, debug, durability, config


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run one API coroutine; turn errors into a message and an exit code."""
    try:
        return asyncio.run(factory())  # type: ignore[arg-type]
    except RunwrightError as exc:
        if G.debug:
            traceback.print_exc()
        err.print(f"[bold red]error:[/] {exc.message}", markup=True, highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(exits.INTERRUPTED) from None
    except (typer.Exit, SystemExit):
        raise
    except Exception as exc:  # a bug: say so, briefly, unless --debug
        if G.debug:
            traceback.print_exc()
        else:
            err.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
                "(run with --debug for the traceback, and please report it)"
            )
        raise typer.Exit(exits.INTERNAL) from None


def guard(fn: Callable[[], T]) -> T:
    """Like :func:`run_async` for synchronous commands."""

    async def call() -> T:
        return fn()

    return run_async(call)


def escape(text: Any) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))


def _register() -> None:
    from runwright.cli import (  # noqa: F401 - registers commands
        cmd_author,
        cmd_config,
        cmd_costs,
        cmd_logs,
        cmd_output,
        cmd_read,
        cmd_run,
        cmd_schedule,
        cmd_worker,
    )


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
