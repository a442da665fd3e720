"""Typer application: global options, error handling, and command registration."""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
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
from runwright.cli.commands import ABOUT, MODULES, OPTIONS
from runwright.cli.output import err, markup, quiet_exit_on_closed_pipe
from runwright.errors import DatabaseMissing, RunwrightError
from runwright.settings import Settings

T = TypeVar("T")

app = typer.Typer(
    name="runwright",
    help=ABOUT,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Options of the whole program, accepted before the subcommand and after it alike.
GLOBAL_OPTIONS = ("db", "durability", "debug")


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

    def where(self) -> str:
        """Where the database is, for messages (no password)."""
        return self.settings().database_label


G = Globals()


def _version(value: bool) -> None:
    if value:
        print(f"runwright {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    db: Annotated[str | None, typer.Option("--db", help=OPTIONS["db"][2])] = None,
    durability: Annotated[str | None, typer.Option(help=OPTIONS["durability"][2])] = None,
    config: Annotated[Path | None, typer.Option("--config", help=OPTIONS["config"][2])] = None,
    debug: Annotated[bool, typer.Option("--debug", help=OPTIONS["debug"][2])] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help=OPTIONS["version"][2]
        ),
    ] = False,
) -> None:
    G.db, G.debug, G.durability, G.config = db, debug, durability, config


def _set_global(ctx: Any, param: Any, value: Any) -> Any:
    # Only a value given after the subcommand overrides the one given before it.
    if value is not None and value is not False:
        setattr(G, param.name, value)
    return value


def command(name: str | None = None) -> Any:
    """The Click command tree, with the global options added to every subcommand.

    ``name``: the command about to run; only its module is imported (start-up time).
    Any other name, or none, imports every command (for help and "no such command").
    ``runwright runs --db X`` then works like ``runwright --db X runs``. The root's
    own option objects are copied, so help, types and defaults are defined once.
    """
    register(name)
    root = typer.main.get_command(app)
    shared = []
    for param in root.params:
        if param.name in GLOBAL_OPTIONS:
            clone = copy.copy(param)
            clone.expose_value = False  # the command functions never see them
            clone.callback = _set_global
            shared.append(clone)

    def add(group: Any) -> None:
        for sub in getattr(group, "commands", {}).values():
            sub.params.extend(copy.copy(p) for p in shared)
            if sub.callback is not None:
                sub.callback = _pipe_safe(sub.callback)
            add(sub)

    add(root)
    return root


def _pipe_safe(callback: Callable[..., T]) -> Callable[..., T]:
    """A command that ends quietly when its reader closed stdout (Click would exit 1)."""

    @functools.wraps(callback)
    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return callback(*args, **kwargs)
        except BrokenPipeError:
            quiet_exit_on_closed_pipe()

    return call


def _error(exc: RunwrightError) -> typer.Exit:
    if G.debug:
        traceback.print_exc()
    err.print(markup("[bold red]error:[/] {}", exc.message))
    return typer.Exit(exc.exit_code)


def run_async(
    factory: Callable[[], Awaitable[T]], *, on_interrupt: Callable[[], None] | None = None
) -> T:
    """Run one API coroutine; turn errors into a message and an exit code.

    ``on_interrupt`` says, after Ctrl-C, what became of the work (exit 130).
    """
    try:
        return asyncio.run(factory())  # type: ignore[arg-type]
    except RunwrightError as exc:
        raise _error(exc) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        if on_interrupt is not None:
            on_interrupt()
        raise typer.Exit(exits.INTERRUPTED) from None
    except BrokenPipeError:
        quiet_exit_on_closed_pipe()
    except (typer.Exit, SystemExit):
        raise
    except Exception as exc:  # a bug: say so, briefly, unless --debug
        if G.debug:
            traceback.print_exc()
        else:
            err.print(
                markup(
                    "[bold red]internal error:[/] {}: {} "
                    "(run with --debug for the traceback, and please report it)",
                    type(exc).__name__,
                    exc,
                )
            )
        raise typer.Exit(exits.INTERNAL) from None


def read_async(factory: Callable[[], Awaitable[T]]) -> T | None:
    """Like :func:`run_async` for listings: None when there is no database (none is created)."""

    async def go() -> T | None:
        try:
            return await factory()
        except DatabaseMissing:
            return None

    return run_async(go)


def no_database(what: str) -> str:
    """What a listing says when the database it reads does not exist."""
    return (
        f"no {what}: there is no database at {G.where()} (`runwright run` creates it; "
        "--db or RUNWRIGHT_DATABASE_URL to look elsewhere)"
    )


def guard(fn: Callable[[], T]) -> T:
    """Like :func:`run_async` for synchronous commands."""

    async def call() -> T:
        return fn()

    return run_async(call)


def register(name: str | None = None) -> None:
    """Import the module defining command ``name`` (all of them: unknown or None)."""
    module = MODULES.get(name or "")
    for one in [module] if module else sorted(set(MODULES.values())):
        importlib.import_module(f"runwright.cli.{one}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(command()())
