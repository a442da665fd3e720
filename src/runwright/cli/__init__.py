"""The `runwright` command line. Heavy imports wait until a command needs them."""

from __future__ import annotations

import sys


def main() -> None:
    # `--version` answers before Typer, Rich and pydantic are imported (start-up budget).
    if sys.argv[1:] in (["--version"], ["-V"]):
        from runwright._version import __version__

        print(f"runwright {__version__}")
        return
    from runwright.cli.app import command
    from runwright.cli.output import quiet_exit_on_closed_pipe

    try:
        command()(prog_name="runwright")
    except BrokenPipeError:  # output printed after the work, e.g. `runwright show ID | head -1`
        quiet_exit_on_closed_pipe()
