"""The engine end to end through runwright.api, on real SQLite files."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from runwright.api import Session
from runwright.errors import InputError, SpecChangedError, SpecError, StateError
from runwright.settings import Settings
from runwright.states import RunStatus

Write = Callable[[str, str], Path]

STEPS_PY = """
import json, os
from pathlib import Path

HERE = Path(__file__).parent  # python steps run in the process cwd: anchor paths here

def record(name, value=None, log="calls.log"):
    with open(HERE / log, "a") as f:
        f.write(name + "\\n")
    return {"name": name, "value": value}

def add(a, b):
    return a + b

def flaky(name, fail_times):
    # Fails the first `fail_times` calls, counted in a file.
    counter = HERE / (name + ".count")
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))
    if n < fail_times:
        raise RuntimeError(f"flaky failure {n + 1}")
    return n + 1

def gate(flag):
    if not (HERE / flag).exists():
        raise ValueError(f"{flag} is missing")
    return "open"

def write_file(ctx, name, text):
    return ctx.workspace.write(name, text).result

def big(n):
    return "x" * n
"""


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().split() if log.exists() else []


async def run(settings: Settings, path: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    async with Session(settings) as s:
        result = await s.start_run(path, **kwargs)  # type: ignore[arg-type]
        details = await s.details(result.run_id)
        events = await s.events(result.run_id, limit=100_000)
    return result, details, events


async def test_chain_passes_outputs_and_commits_one_attempt_each(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: chain
        inputs:
          x: {type: integer, default: 2}
        steps:
          - id: a
            uses: python
            with: {function: "steps:add", args: {a: "{{ inputs.x }}", b: 3}}
          - id: b
            uses: python
            needs: [a]
            with: {function: "steps:add", args: ["{{ steps.a.output }}", 10]}
          - id: c
            uses: shell
            needs: [b]
            with: {run: "echo {{ steps.b.output }}"}
    """,
    )
    result, details, events = await run(settings, spec)
    assert result.status is RunStatus.SUCCEEDED
    assert [s.state for s in details.steps] == ["succeeded"] * 3
    assert [a.number for a in details.attempts] == [1, 1, 1]
    async with Session(settings) as s:
        assert await s.store.output(result.run_id, "b", -1) == 15
        assert (await s.store.output(result.run_id, "c", -1))["stdout"] == "15\n"
    types = [e.type for e in events]
    assert types[0] == "run.started" and types[-1] == "run.succeeded"
    assert types.count("step.started") == 3 and types.count("step.succeeded") == 3
    started = [e for e in events if e.type == "step.started"]
    assert all(e.data["idempotency_key"].endswith(e.step_id) for e in started)


async def test_for_each_fans_out_and_collects_in_order(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: fan
        steps:
          - id: list
            uses: shell
            with: {run: "echo '[3, 1, 2]'", parse: json}
          - id: each
            uses: python
            needs: [list]
            for_each: "{{ steps.list.output.json }}"
            with: {function: "steps:add", args: {a: "{{ item }}", b: "{{ index * 100 }}"}}
          - id: join
            uses: python
            needs: [each]
            with: {function: "steps:record", args: {name: join, value: "{{ steps.each.output }}"}}
    """,
    )
    result, details, _ = await run(settings, spec, concurrency=3)
    assert result.status is RunStatus.SUCCEEDED
    async with Session(settings) as s:
        assert await s.store.output(result.run_id, "each", -1) == [3, 101, 202]
        assert (await s.store.output(result.run_id, "join", -1))["value"] == [3, 101, 202]
    each = next(s for s in details.steps if s.step_id == "each")
    assert (each.items, each.items_done) == (3, 3)


async def test_empty_for_each_succeeds_with_empty_list(settings: Settings, write: Write) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: empty
        steps:
          - id: each
            uses: python
            for_each: []
            with: {function: "steps:add", args: [1, 2]}
          - id: after
            uses: python
            needs: [each]
            with: {function: "steps:record", args: {name: after, value: "{{ steps.each.output }}"}}
    """,
    )
    result, _, _ = await run(settings, spec)
    assert result.status is RunStatus.SUCCEEDED
    async with Session(settings) as s:
        assert (await s.store.output(result.run_id, "after", -1))["value"] == []


async def test_retry_with_backoff_then_success(settings: Settings, write: Write) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: retry
        steps:
          - id: f
            uses: python
            retry: {attempts: 3, backoff: fixed, initial_delay: 0.05, jitter: false}
            with: {function: "steps:flaky", args: {name: f, fail_times: 2}}
    """,
    )
    result, details, events = await run(settings, spec)
    assert result.status is RunStatus.SUCCEEDED
    assert [a.number for a in details.attempts] == [1, 2, 3]
    assert [str(a.state) for a in details.attempts] == ["failed", "failed", "succeeded"]
    retrying = [e for e in events if e.type == "step.retrying"]
    assert len(retrying) == 2 and "flaky failure 1" in retrying[0].data["error"]


async def test_retries_exhausted_fail_the_run_and_resume_retries(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: stop
        steps:
          - id: a
            uses: python
            with: {function: "steps:record", args: {name: a}}
          - id: gate
            uses: python
            needs: [a]
            retry: 2
            with: {function: "steps:gate", args: {flag: "open.flag"}}
          - id: after
            uses: python
            needs: [gate]
            with: {function: "steps:record", args: {name: after}}
    """,
    )
    result, details, _ = await run(settings, spec)
    assert result.status is RunStatus.FAILED
    assert "open.flag is missing" in (result.error or "")
    assert {s.step_id: s.state for s in details.steps}["after"] == "pending"
    (tmp_path / "open.flag").write_text("")
    async with Session(settings) as s:
        resumed = await s.resume(result.run_id)
        details = await s.details(result.run_id)
    assert resumed.status is RunStatus.SUCCEEDED
    assert resumed.reopened == {"failed": ["gate"]}
    assert calls(tmp_path) == ["a", "after"]  # `a` committed: not redone
    gate = [a for a in details.attempts if a.step_id == "gate"]
    assert [a.reason for a in gate][-1] == "resumed"


async def test_on_failure_continue_skips_dependents_but_if_steps_decide(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: cont
        steps:
          - id: bad
            uses: shell
            on_failure: continue
            with: {run: "echo oops >&2; exit 3"}
          - id: dependent
            uses: python
            needs: [bad]
            with: {function: "steps:record", args: {name: dependent}}
          - id: grandchild
            uses: python
            needs: [dependent]
            with: {function: "steps:record", args: {name: grandchild}}
          - id: cleanup
            uses: python
            needs: [bad]
            if: "steps.bad.status == 'failed'"
            with: {function: "steps:record", args: {name: cleanup}}
    """,
    )
    result, details, events = await run(settings, spec)
    assert result.status is RunStatus.SUCCEEDED
    states = {s.step_id: s.state for s in details.steps}
    assert states == {
        "bad": "failed",
        "dependent": "skipped",
        "grandchild": "skipped",
        "cleanup": "succeeded",
    }
    assert calls(tmp_path) == ["cleanup"]
    log = next(e for e in events if e.type == "step.log")
    assert log.data["exit_code"] == 3 and "oops" in log.data["stderr"]


async def test_if_false_skips_step_and_its_dependents(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: cond
        inputs:
          deploy: {type: boolean, default: false}
        steps:
          - id: deploy
            uses: python
            if: "{{ inputs.deploy }}"
            with: {function: "steps:record", args: {name: deploy}}
          - id: notify
            uses: python
            needs: [deploy]
            with: {function: "steps:record", args: {name: notify}}
    """,
    )
    result, details, _ = await run(settings, spec)
    assert result.status is RunStatus.SUCCEEDED
    assert {s.step_id: s.state for s in details.steps} == {"deploy": "skipped", "notify": "skipped"}
    result, _, _ = await run(settings, spec, inputs={"deploy": "true"}, inputs_are_strings=True)
    assert calls(tmp_path) == ["deploy", "notify"]


async def test_cache_hits_across_runs_and_no_cache_bypasses(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        """
        name: cached
        steps:
          - id: a
            uses: python
            cache: true
            with: {function: "steps:record", args: {name: a, value: 1}}
          - id: b
            uses: python
            needs: [a]
            with: {function: "steps:record", args: {name: b, value: "{{ steps.a.output.value }}"}}
    """,
    )
    first, _, events1 = await run(settings, spec)
    _, details2, events2 = await run(settings, spec)
    assert calls(tmp_path) == ["a", "b", "b"]
    assert [e.type for e in events1 if e.type.startswith("cache")] == ["cache.miss"]
    hit = next(e for e in events2 if e.type == "cache.hit")
    assert hit.data["from_run"] == first.run_id
    assert {s.step_id: s.state for s in details2.steps}["a"] == "cached"
    await run(settings, spec, no_cache=True)
    assert calls(tmp_path).count("a") == 2
    async with Session(settings) as s:
        stats = await s.cache_stats()
        assert stats.entries == 1 and stats.hits == 1
        assert await s.cache_clear() == 1


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
    for path in (tmp_path / ".runwright").iterdir():
        assert canary.encode() not in path.read_bytes(), path
    assert any("***" in json.dumps(e.data) for e in events)


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
    db = sqlite3.connect(settings.database_url)
    assert db.execute("SELECT COUNT(*), SUM(size) FROM blobs").fetchone() == (1, 200002)
    assert db.execute("SELECT COUNT(*) FROM outputs WHERE blob IS NOT NULL").fetchone() == (2,)


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
