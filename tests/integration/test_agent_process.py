"""One agent process: its output kept and streamed, its last line shown as progress."""

from __future__ import annotations

from pathlib import Path

from fixtures_steps.stepctx import make_context

from runwright.agents.process import run_process
from runwright.redaction import Redactor


async def test_output_is_masked_streamed_and_its_last_line_shown(tmp_path: Path) -> None:
    shown: list[str] = []
    logged: list[tuple[str, str]] = []
    ctx = make_context(
        tmp_path,
        _progress=shown.append,
        _log=lambda stream, text: logged.append((stream, text)),
        redactor=Redactor(["hunter2-secret"]),
    )
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("from stdin")
    done = await run_process(
        ("sh", "-c", "cat; echo; echo working; echo 'key hunter2-secret'; echo oops >&2"),
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        ctx=ctx,
        stdin=prompt,
    )
    assert done.exit_code == 0
    assert done.stdout == "from stdin\nworking\nkey ***\n" and done.stderr == "oops\n"
    assert "".join(t for s, t in logged if s == "stdout") == done.stdout
    assert shown and shown[-1] in ("key ***", "oops") and all("hunter2" not in s for s in shown)
