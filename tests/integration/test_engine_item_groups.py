"""for_each items that finish together commit together, and nothing else changes.

A worker's item commits of a run go one at a time, and the items finishing meanwhile
(or within a few turns of the event loop) commit as one group
(`runwright.engine.itemgroup`): one transaction, its items stamped with one finish time.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from enginetools import STEPS_PY, Write, run, settings_for

from runwright.api import Session
from runwright.states import AttemptState, RunStatus

N = 40


async def test_items_finishing_together_commit_as_groups_with_the_same_results(
    db_url: str, write: Write, tmp_path: Path
) -> None:
    write("steps.py", STEPS_PY)
    spec = write(
        "p.yaml",
        f"""
        name: fan
        steps:
          - id: each
            uses: python
            for_each: {list(range(N))}
            with: {{function: "steps:add", args: {{a: "{{{{ item }}}}", b: 1000}}}}
          - id: join
            uses: python
            needs: [each]
            with:
              function: "steps:record"
              args: {{name: join, value: "{{{{ steps.each.output }}}}"}}
        """,
    )
    settings = settings_for(db_url, tmp_path)
    result, _, events = await run(settings, spec, concurrency=4)
    assert result.status is RunStatus.SUCCEEDED
    expected = [i + 1000 for i in range(N)]
    async with Session(settings) as s:
        assert await s.store.output(result.run_id, "each", -1) == expected
        assert (await s.store.output(result.run_id, "join", -1))["value"] == expected
        items = [a for a in await s.store.attempts(result.run_id) if a.item >= 0]
    # Each item ran once, in one attempt, and succeeded.
    assert sorted(a.item for a in items) == list(range(N))
    assert {(a.number, a.state) for a in items} == {(1, AttemptState.SUCCEEDED)}
    succeeded = Counter(e.item for e in events if e.type == "step.succeeded" and e.item is not None)
    assert succeeded == Counter(range(N))  # one step.succeeded event per item
    # Grouped: some items share their commit's finish time.
    groups = Counter(Counter(a.finished_at for a in items).values())
    assert max(groups) > 1, groups


async def test_grouped_shell_items_keep_each_items_output_and_log(
    db_url: str, write: Write, tmp_path: Path
) -> None:
    # Shell items commit their intent first, then act, then commit their outcome with
    # the tail of their log: a group writes every member's log chunks.
    spec = write(
        "p.yaml",
        f"""
        name: shells
        steps:
          - id: each
            uses: shell
            for_each: {list(range(N))}
            with: {{run: "echo item-{{{{ item }}}}"}}
        """,
    )
    settings = settings_for(db_url, tmp_path)
    result, _, _ = await run(settings, spec, concurrency=4)
    assert result.status is RunStatus.SUCCEEDED
    async with Session(settings) as s:
        outputs = await s.store.output(result.run_id, "each", -1)
        chunks = await s.store.logs(result.run_id, step_id="each", limit=10_000)
        items = [a for a in await s.store.attempts(result.run_id) if a.item >= 0]
    assert [o["stdout"].strip() for o in outputs] == [f"item-{i}" for i in range(N)]
    logged: dict[int, str] = {}
    for c in chunks:
        if c.stream == "stdout":
            logged[c.item] = logged.get(c.item, "") + c.text
    assert logged == {i: f"item-{i}\n" for i in range(N)}
    assert max(Counter(Counter(a.finished_at for a in items).values())) > 1
