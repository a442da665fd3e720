"""The engine end to end through runwright.api: timeouts, approvals, resume, secrets, blobs.

Every test runs on a SQLite file and on a PostgreSQL schema (``db_url``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from enginetools import STEPS_PY, Write, calls, dump_tables, query, run, settings_for

from runwright.api import Session
from runwright.errors import InputError, SpecChangedError, SpecError, StateError
from runwright.settings import Settings
from runwright.states import RunStatus


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Every engine test once on SQLite, once on PostgreSQL."""
    return settings_for(db_url, tmp_path)


async def test_timeout_kills_the_process_group(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    spec = write(
        "p.yaml",
        """
        name: slow
        steps:
          - id: slow
            uses: shell
            timeout: 0.5s
            with: {run: "sleep 30 & echo $! > child.pid; wait"}
    """,
    )
    result, _, _ = await run(settings, spec)
    assert result.status is RunStatus.FAILED
    assert "timeout of 0.5s" in (result.error or "")
    pid = int((tmp_path / "child.pid").read_text())
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "zombie" in status.read_text()


async def test_approval_waits_then_approve_continues(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: gated
        steps:
          - id: build
            uses: python
            with: {function: "steps:record", args: {name: build}}
          - id: ok
            uses: approval
            needs: [build]
            with: {prompt: "ship it?"}
          - id: ship
            uses: python
            needs: [ok]
            with: {function: "steps:record", args: {name: ship, value: "{{ steps.ok.output }}"}}
    """,
    )
    result, _, events = await run(settings, spec)
    assert result.status is RunStatus.WAITING and result.waiting_for == ["ok"]
    assert any(e.type == "approval.requested" and e.data["prompt"] == "ship it?" for e in events)
    async with Session(settings) as s:
        with pytest.raises(StateError, match="not waiting for approval"):
            await s.decide(result.run_id, "build", approve=True)
        done = await s.decide(result.run_id, "ok", approve=True, by="alice", note="lgtm")
        shipped = await s.store.output(result.run_id, "ship", -1)
    assert done.status is RunStatus.SUCCEEDED
    assert shipped["value"] == {"approved": True, "by": "alice", "comment": "lgtm"}
    assert calls(tmp_path) == ["build", "ship"]


async def test_reject_fails_the_run(settings: Settings, write: Write) -> None:
    spec = write(
        "p.yaml",
        """
        name: gated
        steps:
          - id: ok
            uses: approval
    """,
    )
    result, _, _ = await run(settings, spec)
    async with Session(settings) as s:
        done = await s.decide(result.run_id, "ok", approve=False, by="bob", note="not today")
        events = await s.events(result.run_id)
    assert done.status is RunStatus.FAILED
    assert "rejected by bob: not today" in (done.error or "")
    assert any(e.type == "approval.rejected" for e in events)


async def test_resume_against_changed_spec_needs_accept(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("steps.py", STEPS_PY)
    text = """
        name: change
        steps:
          - id: a
            uses: python
            with: {function: "steps:record", args: {name: a}}
          - id: b
            uses: python
            needs: [a]
            with: {function: "steps:gate", args: {flag: "flag"}}
    """
    spec = write("p.yaml", text)
    result, _, _ = await run(settings, spec)
    assert result.status is RunStatus.FAILED
    write(
        "p.yaml",
        text.replace('{flag: "flag"}', '{flag: "steps.py"}')
        + """
          - id: c
            uses: python
            needs: [b]
            with: {function: "steps:record", args: {name: c}}
    """,
    )
    async with Session(settings) as s:
        with pytest.raises(SpecChangedError) as info:
            await s.resume(result.run_id)
        assert "step 'b'" in str(info.value) and "step 'c' added" in str(info.value)
        resumed = await s.resume(result.run_id, accept_changes=True)
    assert resumed.status is RunStatus.SUCCEEDED
    assert calls(tmp_path) == ["a", "c"]


async def test_secrets_never_reach_the_database(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    canary = "canary-7f3a9c1e5b"
    env = {**settings.env, "DEMO_API_KEY": canary}
    secret_settings = Settings(database_url=settings.database_url, project_dir=tmp_path, env=env)
    spec = write(
        "p.yaml",
        """
        name: secret
        steps:
          - id: leak
            uses: shell
            with: {run: "echo token=$DEMO_API_KEY; echo {{ env.DEMO_API_KEY }} >&2; exit 1"}
    """,
    )
    result, _, events = await run(secret_settings, spec)
    assert result.status is RunStatus.FAILED
    assert any("***" in json.dumps(e.data) for e in events)
    values = dump_tables(settings.database_url)
    texts = [v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in values]
    assert any("token=***" in t for t in texts)  # the dump does include the redacted log
    assert not [t for t in texts if canary in t]
    if not settings.database_url.startswith("postgresql://"):  # and the raw files (WAL too)
        for path in (tmp_path / ".runwright").iterdir():
            assert canary.encode() not in path.read_bytes(), path


async def test_large_outputs_live_in_blobs(settings: Settings, write: Write) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: big
        steps:
          - id: big
            uses: python
            with: {function: "steps:big", args: {n: 200000}}
          - id: again
            uses: python
            with: {function: "steps:big", args: {n: 200000}}
    """,
    )
    result, _, _ = await run(settings, spec)
    async with Session(settings) as s:
        assert len(await s.store.output(result.run_id, "big", -1)) == 200000
    url = settings.database_url
    assert query(url, "SELECT COUNT(*), SUM(size) FROM blobs") == [(1, 200002)]
    assert query(url, "SELECT COUNT(*) FROM outputs WHERE blob IS NOT NULL") == [(2,)]


async def test_workspace_writes_are_events(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: files
        steps:
          - id: w
            uses: python
            with: {function: "steps:write_file", args: {name: out/a.txt, text: hi}}
    """,
    )
    _, _, events = await run(settings, spec)
    assert (tmp_path / "out" / "a.txt").read_text() == "hi"
    written = next(e for e in events if e.type == "file.written")
    assert written.data["path"] == "out/a.txt" and written.data["result"] == "created"


async def test_bad_input_and_spec_errors_are_located(settings: Settings, write: Write) -> None:
    spec = write(
        "p.yaml",
        """
        name: needs-input
        inputs:
          n: {type: integer}
        steps:
          - id: a
            uses: shell
            with: {run: "echo {{ inputs.n }}"}
    """,
    )
    async with Session(settings) as s:
        with pytest.raises(InputError, match="input 'n' is required"):
            await s.start_run(spec)
        with pytest.raises(InputError):
            await s.start_run(spec, inputs={"n": "abc"}, inputs_are_strings=True)
        bad = write("bad.yaml", "name: x\nsteps:\n  - id: a\n    uses: shel\n")
        with pytest.raises(SpecError, match=r"bad.yaml:4:\d+: .*did you mean 'shell'"):
            await s.start_run(bad)
        assert await s.runs() == []
