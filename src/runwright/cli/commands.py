"""The command table: which module defines each command, and the top-level help.

``runwright --help`` is printed from this table without importing Typer, Rich or any
command (about 30 ms instead of 400), and any other invocation imports only the
module of the command it names. ``tests/unit/cli/test_commands.py`` checks the table
against the commands the modules really define, so it cannot drift.
"""

from __future__ import annotations

import shutil
import textwrap

ABOUT = "Run AI development pipelines durably: a killed run resumes where it stopped."

#: Options of the whole program: (flags, metavar, help). app.py builds them from this.
OPTIONS: dict[str, tuple[str, str, str]] = {
    "db": (
        "--db",
        "URL",
        "Database URL or SQLite path (default: .runwright/runwright.db; "
        "env RUNWRIGHT_DATABASE_URL).",
    ),
    "durability": (
        "--durability",
        "MODE",
        "normal (WAL, survives process crashes) or strict (fsync every commit; "
        "env RUNWRIGHT_DURABILITY).",
    ),
    "config": (
        "--config",
        "PATH",
        "runwright.toml to use (default: found from the pipeline's directory "
        "upwards; env RUNWRIGHT_CONFIG).",
    ),
    "debug": ("--debug", "", "Show tracebacks."),
    "version": ("--version, -V", "", "Print the version."),
    "help": ("--help, -h", "", "Show this message and exit."),
}

#: Every top-level command by section: name -> (module under runwright.cli, short help).
SECTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "Run": {
        "run": ("cmd_run", "Run a pipeline."),
        "resume": (
            "cmd_run",
            "Resume a crashed, killed, failed or cancelled run: only unfinished work runs again.",
        ),
        "cancel": ("cmd_run", "Cancel a run (it can be resumed later)."),
        "approve": (
            "cmd_run",
            "Approve a waiting step; the run then continues in this process.",
        ),
        "reject": (
            "cmd_run",
            "Reject a waiting step: it fails (and the run with it, unless on_failure: continue).",
        ),
        "worker": (
            "cmd_worker",
            "Run a worker that executes ready steps of any run in the database.",
        ),
        "schedule": (
            "cmd_schedule",
            "Start runs of a pipeline on a cron schedule (`runwright worker` processes fire them).",
        ),
    },
    "Inspect": {
        "runs": ("cmd_read", "List runs, newest first."),
        "show": ("cmd_read", "Show a run: its status, inputs and every step."),
        "tail": ("cmd_read", "Print a run's events (optionally following new ones)."),
        "logs": (
            "cmd_logs",
            "Print steps' stdout, stderr and tracebacks (masked), prefixed by step#attempt.",
        ),
        "output": (
            "cmd_output",
            "Print a step's committed output (a for_each step: the list of its items' outputs).",
        ),
        "export": (
            "cmd_read",
            "Export a run (record, attempts, outputs, events) as JSON lines.",
        ),
        "costs": (
            "cmd_costs",
            "Show what model calls cost (an unknown price is shown as unknown, never $0).",
        ),
        "workers": (
            "cmd_worker",
            "List live and lost workers: state, heartbeat and the steps they hold now.",
        ),
        "cache": ("cmd_read", "Inspect or clear the step cache."),
    },
    "Agents and patches": {
        "patches": (
            "cmd_patches",
            "List the patches agents proposed, oldest first, with their state.",
        ),
        "patch": (
            "cmd_patches",
            "One patch of the ledger: show its diff, apply it, roll it back.",
        ),
        "trust": (
            "cmd_trust",
            "Trust levels of agent presets: their record from the patch ledger, and promotions.",
        ),
        "gc": (
            "cmd_gc",
            "Remove worktrees, branches and files of finished runs; kill orphaned agent processes.",
        ),
    },
    "Author": {
        "init": (
            "cmd_author",
            "Scaffold a working example pipeline (repo report) in DIRECTORY.",
        ),
        "validate": (
            "cmd_author",
            "Check a pipeline file; every problem is reported with file:line:column.",
        ),
        "graph": ("cmd_author", "Print the pipeline's DAG as Mermaid or Graphviz DOT."),
        "schema": ("cmd_author", "Print the JSON Schema of pipeline files (for editors)."),
        "config": ("cmd_config", "Inspect the project configuration (runwright.toml)."),
        "explain": ("cmd_explain", "Explain how runwright decides (model routing)."),
    },
}

#: name -> module, over all sections.
MODULES: dict[str, str] = {
    name: module for section in SECTIONS.values() for name, (module, _) in section.items()
}

#: Options that take a value (their value is not the command's name).
_VALUED = {flags for flags, metavar, _ in OPTIONS.values() if metavar}


def command_name(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names, skipping global options before it (None: none)."""
    args = iter(argv)
    for arg in args:
        if arg in _VALUED:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def root_help() -> str:
    """``runwright --help``: usage, options and the commands by section."""
    width = min(shutil.get_terminal_size((80, 24)).columns, 100)
    lines = ["Usage: runwright [OPTIONS] COMMAND [ARGS]...", "", f"  {ABOUT}", ""]

    def rows(title: str, entries: list[tuple[str, str]], left: int) -> None:
        lines.append(f"{title}:")
        for name, text in entries:
            wrapped = textwrap.wrap(text, max(width - left, 30)) or [""]
            lines.append(f"  {name.ljust(left - 2)}{wrapped[0]}")
            lines.extend(" " * left + rest for rest in wrapped[1:])
        lines.append("")

    options = [(f"{f} {m}".strip(), h) for f, m, h in OPTIONS.values()]
    rows("Options", options, max(len(name) for name, _ in options) + 4)
    left = max(len(name) for name in MODULES) + 4
    for title, section in SECTIONS.items():
        rows(title, [(name, text) for name, (_, text) in section.items()], left)
    lines.append("Run `runwright COMMAND --help` for a command's options.")
    return "\n".join(lines) + "\n"
