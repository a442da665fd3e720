"""The command table (runwright.cli.commands) against the commands the modules define.

``runwright --help`` is printed from the table and each invocation imports only the
module the table names, so a command missing from it, or listed under the wrong
module or with stale help, would vanish or break; these tests catch that.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from runwright.cli.app import command
from runwright.cli.commands import MODULES, OPTIONS, SECTIONS, command_name, root_help


def _module(cmd: Any) -> str:
    callback = cmd.callback
    if hasattr(cmd, "commands") and (callback is None or "runwright" not in callback.__module__):
        callback = next(iter(cmd.commands.values())).callback
    return getattr(callback, "__wrapped__", callback).__module__.rsplit(".", 1)[-1]


def test_the_table_lists_every_command_with_its_module_and_help() -> None:
    root = command()
    assert sorted(root.commands) == sorted(MODULES)
    for name, cmd in root.commands.items():
        assert _module(cmd) == MODULES[name], name
        helps = {n: h for section in SECTIONS.values() for n, (_, h) in section.items()}
        assert cmd.get_short_help_str(limit=500) == helps[name], name
    shown = {p.name: p.help for p in root.params if p.name in OPTIONS}
    assert shown == {k: OPTIONS[k][2] for k in shown} and len(shown) == 5


def test_the_root_help_names_every_command_and_option() -> None:
    text = root_help()
    for name in MODULES:
        assert f"\n  {name} " in text, name
    for flags, _, _ in OPTIONS.values():
        assert flags in text
    assert all(len(line) <= 100 for line in text.splitlines())


def test_the_command_name_skips_global_options_and_their_values() -> None:
    assert command_name(["--db", "runs", "show", "r1"]) == "show"
    assert command_name(["--debug", "--durability", "strict", "run", "p.yaml"]) == "run"
    assert command_name(["--db=x.db", "runs"]) == "runs"
    assert command_name(["--debug"]) is None


def _imported_after(args: list[str], cwd: Path) -> set[str]:
    probe = (
        "import sys; import runwright.cli as c; sys.argv = ['runwright', *sys.argv[1:]]\n"
        "try:\n    c.main()\nexcept SystemExit:\n    pass\n"
        "print('\\nMODULES', ' '.join(sorted(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=cwd, capture_output=True, text=True
    )
    line = done.stderr.rsplit("MODULES ", 1)[1]
    return set(line.split())


def test_help_imports_no_typer_and_a_command_only_its_module(tmp_path: Path) -> None:
    helped = _imported_after(["--help"], tmp_path)
    assert not {"typer", "rich", "pydantic", "runwright.cli.app"} & helped
    listed = _imported_after(["runs", "--json"], tmp_path)
    commands = {m.rsplit(".", 1)[-1] for m in listed if m.startswith("runwright.cli.cmd_")}
    assert commands == {"cmd_read"}
