"""Start-up stays lean: a command imports only what it uses (issue 10's start-up target).

Times are never asserted (machines are noisy); what a real `runwright` process imports
is read from its ``sys.modules`` as it exits (``-X importtime`` misses modules loaded
through ``importlib.import_module``, as step kinds and commands are).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clitools import clean_env

#: Runs the CLI's own entry point, then writes every module loaded to argv[1].
MAIN = """
import atexit, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
from runwright.cli import main
sys.argv[0] = "runwright"
main()
"""

#: Modules a one-step shell run has no use for: other step kinds, the LLM and agent
#: code, the price table, Jinja (no template needs it), Rich's live display (no
#: terminal), the TOML parser and the config models (no runwright.toml). Not rich.table:
#: Typer before 0.29 (the lowest allowed is 0.16) imports it itself.
NOT_FOR_A_SHELL_RUN = (
    "jinja2",
    "runwright.config.loader",
    "runwright.config.models",
    "runwright.config.agents",
    "rich.live",
    "rich.progress",
    "tomllib",
    "runwright.agents",
    "runwright.costs",
    "runwright.patches",
    "runwright.providers",
    "runwright.steps.agent",
    "runwright.steps.gate",
    "runwright.steps.llm",
    "runwright.steps.patch_apply",
    "runwright.steps.python",
)


def imported(cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``runwright ARGS`` in a fresh interpreter: its result and the modules it loaded."""
    out = cwd / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", MAIN, str(out), *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, set(out.read_text().split())


def test_a_one_step_shell_run_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "name: p\nsteps:\n  - id: a\n    uses: shell\n    with: {run: 'echo {{ inputs.who }}'}\n"
        "inputs:\n  who: {type: string, default: me}\n"
    )
    done, modules = imported(tmp_path, "run", "p.yaml")
    assert done.returncode == 0, done.stderr
    assert {"runwright.steps.shell", "runwright.store.sqlite", "rich.console"} <= modules
    # Under CI's coverage, its start-up hook reads pyproject.toml with tomllib itself.
    unwanted = [p for p in NOT_FOR_A_SHELL_RUN if not (p == "tomllib" and "coverage" in modules)]
    unexpected = sorted(
        m for m in modules if any(m == p or m.startswith(p + ".") for p in unwanted)
    )
    assert unexpected == []


def test_help_is_answered_from_the_command_table_alone(tmp_path: Path) -> None:
    done, modules = imported(tmp_path, "--help")
    assert done.returncode == 0 and "Usage" in done.stdout
    assert "runwright.cli.commands" in modules
    heavy = ("runwright.cli.app", "runwright.engine", "runwright.store", "runwright.spec")
    heavy += ("typer", "rich", "pydantic", "jinja2", "asyncio")
    assert sorted(m for m in modules if m.startswith(heavy)) == []
