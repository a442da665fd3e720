"""On a terminal, `runwright run` shows an llm step's reply streaming in while the step runs.

The real CLI on a pseudo-terminal, against the loopback server holding its reply
half-sent: the first words must be on the screen before the rest is generated.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from clitools import clean_env
from llmserver import LLMServer, Reply

#: Generous: the CLI starts a Python process on a loaded 2-core machine.
DEADLINE = 60.0


def read_until(fd: int, needle: bytes, seen: bytearray, deadline: float) -> bool:
    """Read the pty into ``seen`` until ``needle`` shows up or the deadline passes."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                return needle in seen
            if not chunk:
                return needle in seen
            seen.extend(chunk)
            if needle in seen:
                return True
    return needle in seen


def test_a_terminal_shows_the_reply_streaming_in_while_the_step_runs(tmp_path: Path) -> None:
    gate = threading.Event()
    with LLMServer() as server:
        (tmp_path / "runwright.toml").write_text(
            f'[providers.loop]\ntype = "openai"\nbase_url = "{server.openai_url}"\ntimeout = 120\n'
        )
        (tmp_path / "p.yaml").write_text(
            "name: ask\nsteps:\n  - {id: plan, uses: llm, with: {model: 'loop:m', prompt: hi}}\n"
        )
        server.script(Reply(pieces=("Kites", " fly", " high", " today"), gate=gate, gate_after=2))
        primary, secondary = pty.openpty()
        env = {**clean_env(), "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
        env.pop("NO_COLOR", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "runwright", "run", "p.yaml"],
            cwd=tmp_path,
            env=env,
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
        )
        os.close(secondary)
        seen = bytearray()
        try:
            # Two words are out, the server holds the rest: the step is still running.
            shown = read_until(primary, b"Kites fly", seen, time.monotonic() + DEADLINE)
            assert shown, seen.decode(errors="replace")[-2000:]
            assert proc.poll() is None  # still running: it is the live view, not the result
            assert b"today" not in seen
            gate.set()
            deadline = time.monotonic() + DEADLINE
            while proc.poll() is None and time.monotonic() < deadline:
                read_until(primary, b"\x00", seen, time.monotonic() + 0.5)
            assert proc.wait(timeout=5) == 0, seen.decode(errors="replace")[-2000:]
        finally:
            gate.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(primary)
        assert server.requests[0].body["stream"] is True
