"""A Claude Code session continued on another machine: its transcript travels in the store."""

from __future__ import annotations

import gzip
import tarfile
from io import BytesIO
from pathlib import Path

from test_agent_step import configure

from agenttools import log_lines, make_repo
from runwright.api import Session
from runwright.events import EventType
from runwright.states import RunStatus

CANARY = "canary-7f3e9a1c"


async def test_a_retry_on_another_machine_continues_the_session_from_the_store(
    tmp_path: Path, db_url: str
) -> None:
    make_repo(tmp_path / "repo")
    log, once = tmp_path / "agent.log", tmp_path / "failed-once"
    pipe = tmp_path / "repo" / "pipeline.yaml"
    pipe.write_text(
        "name: elsewhere\nsteps:\n"
        "  - id: fix\n    uses: agent\n"
        "    with:\n      agent: fake\n      prompt: fix it\n      session: resume\n"
        "      env: {CLAUDE_CONFIG_DIR: null, AGENT_TOKEN: null, "
        f"AGENTPROG_LOG: '{log}', AGENTPROG_FAIL_ONCE: '{once}', AGENTPROG_ECHO: AGENT_TOKEN}}\n"
    )
    # Two machines: each its own Claude Code state directory, one database.
    first = {"CLAUDE_CONFIG_DIR": str(tmp_path / "machine-a"), "AGENT_TOKEN": CANARY}
    second = {**first, "CLAUDE_CONFIG_DIR": str(tmp_path / "machine-b")}
    async with Session(configure(tmp_path, env=first, db=db_url)) as s:
        failed = await s.start_run(pipe)
    assert failed.status is RunStatus.FAILED and "agent fake failed" in str(failed.error)
    async with Session(configure(tmp_path, env=second, db=db_url)) as s:
        resumed = await s.resume(failed.run_id)
        events = await s.events(failed.run_id)
        finished = [e for e in events if e.type == EventType.AGENT_FINISHED]
        blobs = []
        async with s.store.transaction() as tx:
            for e in finished:
                blobs.append(await tx.blob(e.data["transcript"]))
    assert resumed.status is RunStatus.SUCCEEDED, resumed
    one, two = log_lines(log)
    session = one["argv"][one["argv"].index("--session-id") + 1]
    # Machine b never saw the session, yet the agent continued it, with what it had said.
    assert two["argv"][two["argv"].index("--resume") + 1] == session
    assert [h["message"] for h in two["history"]] == ["fix it"]
    started = [e for e in events if e.type == EventType.AGENT_STARTED]
    assert all("session_not_found" not in e.data for e in started)
    # Each agent run's transcript was kept, the secret it saw masked.
    assert len(blobs) == 2
    for blob in blobs:
        with tarfile.open(fileobj=BytesIO(blob), mode="r:gz") as archive:
            [member] = archive.getmembers()
            text = archive.extractfile(member).read().decode()  # type: ignore[union-attr]
        assert member.name == f"{session}.jsonl" and '"fix it"' in text
        assert CANARY not in text and "***" in text
        assert CANARY.encode() not in gzip.decompress(blob)
    # On machine a the transcript still holds what the agent saw: only the store's is masked.
    [local] = (tmp_path / "machine-a" / "projects").glob(f"*/{session}.jsonl")
    assert CANARY in local.read_text()
