"""The engine end to end through runwright.api: flow, retries, skips, cache.

Every test runs on a SQLite file and on a PostgreSQL schema (``db_url``);
approvals, resume, secrets and blobs are in test_engine_runs_control.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from enginetools import STEPS_PY, Write, calls, run, settings_for

from runwright.api import Session
from runwright.settings import Settings
from runwright.states import RunStatus


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Every engine test once on SQLite, once on PostgreSQL."""
    return settings_for(db_url, tmp_path)


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
