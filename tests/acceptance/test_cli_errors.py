"""Errors the CLI must end cleanly, with the README's exit code: never a traceback, never 70.

Brackets in messages (Rich markup), a reader that closes the pipe, a state
directory that cannot be created or written, and the one real internal error.
"""

from __future__ import annotations

import ctypes
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clitools import clean_env, cli

ONE_STEP = "name: p\nsteps:\n  - {id: a, uses: shell, with: {run: 'true'}}\n"


def clean(result: subprocess.CompletedProcess[str], code: int) -> str:
    """Assert the exit code and no traceback; return stderr."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert "MarkupError" not in result.stderr
    return result.stderr


def first_run(tmp_path: Path) -> str:
    (tmp_path / "p.yaml").write_text(ONE_STEP)
    result = cli(tmp_path, "run", "p.yaml", "--json")
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout.splitlines()[-1])["run_id"])


# --- 4: bracketed text is data, never Rich markup ------------------------------------------


def test_a_run_id_with_markup_is_named_literally(tmp_path: Path) -> None:
    first_run(tmp_path)
    stderr = clean(cli(tmp_path, "show", "abc[/x]"), 4)
    assert "no run 'abc[/x]'" in stderr


def test_a_spec_key_with_markup_is_reported_literally(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text('name: p\n"[/]": 1\n"[bold]x": 2\nsteps: []\n')
    stderr = clean(cli(tmp_path, "validate", "p.yaml"), 2)
    assert "'[/]'" in stderr and "[bold]x" in stderr


def test_an_input_name_with_markup_is_reported_literally(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(ONE_STEP)
    stderr = clean(cli(tmp_path, "run", "p.yaml", "-i", "a[/]b=red"), 2)
    assert "a[/]b" in stderr
    assert not (tmp_path / ".runwright").exists() or "a[/]b" in stderr


def test_missing_driver_hint_keeps_the_extra(tmp_path: Path) -> None:
    # A psycopg that cannot be imported, as on an install without the extra.
    fake = tmp_path / "site"
    (fake / "psycopg").mkdir(parents=True)
    (fake / "psycopg" / "__init__.py").write_text("raise ImportError('no psycopg here')\n")
    result = cli(
        tmp_path, "runs", "--db", "postgresql://127.0.0.1:1/x", env={"PYTHONPATH": str(fake)}
    )
    assert "pip install 'runwright[postgres]'" in clean(result, 2)


def test_messages_from_steps_are_printed_literally(tmp_path: Path) -> None:
    run = 'echo "[/] :smile: [red]" >&2; exit 3'
    (tmp_path / "p.yaml").write_text(
        f"name: p\nsteps:\n  - {{id: a, uses: shell, with: {{run: '{run}'}}}}\n"
    )
    result = cli(tmp_path, "run", "p.yaml")
    clean(result, 1)
    assert "[/] :smile: [red]" in result.stdout


# --- 5: a reader that goes away ends the command quietly ----------------------------------

BIG = """
name: big
steps:
  - id: each
    uses: shell
    for_each: "{{ range(400) | list }}"
    with: {run: "echo item {{ item }}"}
"""


@pytest.fixture(scope="module")
def big_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A run whose export is far larger than a pipe's buffer."""
    cwd = tmp_path_factory.mktemp("big")
    (cwd / "p.yaml").write_text(textwrap.dedent(BIG))
    result = cli(cwd, "run", "p.yaml", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    return cwd, str(json.loads(result.stdout.splitlines()[-1])["run_id"])


def _popen(cwd: Path, *args: str, stdout: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "runwright", *args],
        cwd=cwd,
        env=clean_env(),
        stdout=stdout,
        stderr=subprocess.PIPE,
    )


def test_export_into_head_ends_quietly(big_run: tuple[Path, str]) -> None:
    cwd, run_id = big_run
    proc = _popen(cwd, "export", run_id, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = json.loads(proc.stdout.readline())  # `| head -1`: one line, then the pipe closes
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0, stderr
    assert first["type"] == "run"
    assert stderr == ""  # no "internal error: BrokenPipeError", no "Exception ignored"


@pytest.mark.parametrize(
    "args",
    [
        ["export", "{run}"],
        ["tail", "{run}"],
        ["show", "{run}"],
        ["show", "{run}", "--json"],
        ["runs"],
    ],
)
def test_a_pipe_closed_before_any_output_ends_quietly(
    big_run: tuple[Path, str], args: list[str]
) -> None:
    cwd, run_id = big_run
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte: every write fails with EPIPE
    try:
        proc = _popen(cwd, *(a.format(run=run_id) for a in args), stdout=write)
    finally:
        os.close(write)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr.decode()
    assert stderr.decode() == ""


# --- 6: a state directory that cannot be created or written -------------------------------


def _without_root_powers() -> None:
    """In the child, before exec: give up the capabilities that let root ignore file modes."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone after exec
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def as_unprivileged() -> dict[str, Any]:
    """Popen arguments under which file modes bind this user too (tests run as root in CI)."""
    return {"preexec_fn": _without_root_powers} if os.geteuid() == 0 else {}


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """``read_only(path)`` takes write permission away; given back at teardown."""
    changed: list[Path] = []

    def take(path: Path) -> None:
        path.chmod(0o555 if path.is_dir() else 0o444)
        changed.append(path)

    yield take
    for path in changed:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _store_error(result: subprocess.CompletedProcess[str], path: Path) -> None:
    stderr = " ".join(clean(result, 3).split())  # Rich may wrap long lines
    assert str(path) in stderr
    assert "--db" in stderr and "RUNWRIGHT_DATABASE_URL" in stderr


def test_state_dir_blocked_by_a_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(ONE_STEP)
    (tmp_path / ".runwright").write_text("not a directory")
    _store_error(cli(tmp_path, "run", "p.yaml"), tmp_path / ".runwright")


def test_state_dir_that_cannot_be_created_is_a_store_error(
    tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    (tmp_path / "p.yaml").write_text(ONE_STEP)
    read_only(tmp_path)  # no .runwright/ can be made here
    result = cli(tmp_path, "run", "p.yaml", **as_unprivileged())
    _store_error(result, tmp_path / ".runwright")
    assert not (tmp_path / ".runwright").exists()


def test_database_that_cannot_be_written_is_a_store_error(
    tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    first_run(tmp_path)
    state = tmp_path / ".runwright"
    for path in [*state.iterdir(), state]:
        read_only(path)
    result = cli(tmp_path, "run", "p.yaml", **as_unprivileged())
    _store_error(result, state / "runwright.db")


# --- exit 70: a real internal error, with and without --debug ------------------------------


def test_internal_error_exits_70_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    run_id = first_run(tmp_path)
    # A value no runwright writes: reading it back is a bug path (an unexpected exception).
    with sqlite3.connect(tmp_path / ".runwright" / "runwright.db") as db:
        db.execute("UPDATE runs SET status='bogus' WHERE id=?", (run_id,))
    plain = cli(tmp_path, "show", run_id)
    assert plain.returncode == 70, plain.stderr
    assert "internal error: ValueError" in plain.stderr
    assert "--debug" in plain.stderr and "Traceback" not in plain.stderr
    debug = cli(tmp_path, "show", run_id, "--debug")  # --debug after the subcommand, too
    assert debug.returncode == 70, debug.stderr
    assert "Traceback (most recent call last)" in debug.stderr
    assert "'bogus' is not a valid RunStatus" in debug.stderr
