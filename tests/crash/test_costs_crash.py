"""SIGKILL a real `runwright run` during a model call, resume it: the reservation is not leaked."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from clitools import clean_env, cli, wait_until
from llmserver import LLMServer, Reply
from runwright.store import open_store
from runwright.store.records_costs import ReservationRecord


async def _reservations(db: str) -> list[ReservationRecord]:
    store = open_store(db)
    try:
        return await store.reservations()
    finally:
        await store.close()


def test_a_call_lost_in_a_crash_is_charged_once_and_the_resumed_call_settles(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "r.db")
    with LLMServer() as server:
        (tmp_path / "runwright.toml").write_text(
            f'[providers.loop]\ntype = "openai"\nbase_url = "{server.openai_url}"\n'
            'timeout = 60\n[prices."loop:m"]\ninput_per_mtok = 1\noutput_per_mtok = 2\n'
        )
        (tmp_path / "p.yaml").write_text(
            textwrap.dedent(
                """
                name: ask
                budget: {usd: 1}
                steps:
                  - {id: a, uses: llm, with: {model: "loop:m", prompt: "hi", max_tokens: 20}}
                """
            )
        )
        server.script(Reply.slow(60))  # the first call hangs until the kill
        proc = subprocess.Popen(
            [sys.executable, "-m", "runwright", "--db", db, "run", "p.yaml"],
            cwd=tmp_path,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            assert wait_until(lambda: server.requests or proc.poll() is not None, 60)
            assert proc.poll() is None, "the run ended before the kill"
            os.killpg(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        [lost] = asyncio.run(_reservations(db))
        assert lost.state == "held"  # what the dead process left
        [run_id] = [
            ln.split()[0] for ln in cli(tmp_path, "--db", db, "runs").stdout.splitlines()[1:]
        ]
        done = cli(tmp_path, "--db", db, "resume", run_id)
        assert done.returncode == 0, done.stderr
        assert len(server.requests) == 2  # the call is made again
    rows = {r.state: r for r in asyncio.run(_reservations(db))}
    assert sorted(rows) == ["lost", "settled"]  # nothing held: never leaked
    # The lost call counts at its worst case (the provider may have billed it).
    assert rows["lost"].usd == rows["lost"].reserved_usd > 0
    assert rows["settled"].usd == (11 * 1 + 7 * 2) / 1e6
