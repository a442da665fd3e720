"""The `runwright` command line. Heavy imports wait until a command needs them."""

from __future__ import annotations

import sys


def main() -> None:
    # `--version` answers before Typer, Rich and pydantic are imported (start-up budget).
    if sys.argv[1:] in (["--version"], ["-V"]):
        from runwright._version import __version__

        print(f"runwright {__version__}")
        return
    argv = sys.argv[1:]
    if argv in ([], ["--help"], ["-h"]):
        # From the command table: no Typer, Rich or command module imported.
        from runwright.cli.commands import root_help

        sys.stdout.write(root_help())
        return
    from runwright.cli.app import command
    from runwright.cli.commands import command_name
    from runwright.cli.output import quiet_exit_on_closed_pipe

    try:
        command(command_name(argv))(prog_name="runwright")
    except BrokenPipeError:  # output printed after the work, e.g. `runwright show ID | head -1`
        quiet_exit_on_closed_pipe()
