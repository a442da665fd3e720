"""Schedules on real SQLite and PostgreSQL: the API, tick() per catch-up policy, races."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runwright.api import Session
from runwright.api.schedules import (
    add_schedule,
    list_schedules,
    pause_schedule,
    remove_schedule,
    resume_schedule,
    schedule_fires,
)
from runwright.errors import InputError, NotFoundError, SpecError, StateError, UsageError
from runwright.schedule.cron import latest_at_or_before, next_after
from runwright.schedule.scheduler import MAX_FIRES_PER_TICK, run_scheduler, tick
from runwright.settings import Settings
from runwright.states import RunStatus
from runwright.store.records import ScheduleRecord

Write = Callable[[str, str], Path]

PIPELINE = """
name: nightly
inputs:
  who: {type: string, default: world}
steps:
  - id: hello
    uses: shell
    with: {run: "echo hello {{ inputs.who }}"}
"""
EVERY_5 = "*/5 * * * *"
#: Creation time of most test schedules: 2026-01-01 00:00 UTC, so the first fire is 00:05.
T0 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
F0 = T0 + 300


@pytest.fixture
def pipeline(write: Write) -> Path:
    return write("nightly.yaml", PIPELINE)


@pytest.fixture
def open_session(db_url: str, tmp_path: Path) -> Callable[[], Session]:
    """A factory of Sessions over the test's database (several may be open at once)."""
    return lambda: Session(Settings(database_url=db_url, project_dir=tmp_path, env={}))


@pytest.fixture
async def session(open_session: Callable[[], Session]) -> AsyncIterator[Session]:
    async with open_session() as s:
        yield s


async def add(session: Session, pipeline: Path, name: str = "nightly", **kw: object) -> None:
    await add_schedule(session, name, pipeline, cron=EVERY_5, now=T0, **kw)  # type: ignore[arg-type]


async def run_count(session: Session) -> int:
    return len(await session.store.list_runs(limit=10_000))


async def test_add_list_pause_resume_remove(session: Session, pipeline: Path) -> None:
    added = await add_schedule(
        session, "nightly", pipeline, cron=" 0  9 * * * ", tz="Europe/Paris", inputs={"who": "me"}
    )
    assert added.cron == "0 9 * * *"
    assert added.spec_path == str(pipeline.resolve())
    assert added.next_fire == next_after("0 9 * * *", "Europe/Paris", added.created_at)
    assert (added.catchup, added.paused, added.inputs) == ("latest", False, {"who": "me"})
    assert await list_schedules(session) == [added]

    paused = await pause_schedule(session, "nightly")
    assert paused.paused and (await pause_schedule(session, "nightly")).paused
    assert await tick(session, now=added.next_fire + 86_400 * 3) == []  # paused: nothing fires

    # Resuming does not replay the fires missed while paused: the next is after "now".
    later = added.next_fire + 86_400 * 3 + 1
    resumed = await resume_schedule(session, "nightly", now=later)
    assert not resumed.paused
    assert resumed.next_fire == next_after("0 9 * * *", "Europe/Paris", later)
    assert await resume_schedule(session, "nightly", now=later + 86_400 * 9) == resumed

    assert (await remove_schedule(session, "nightly")).name == "nightly"
    assert await list_schedules(session) == []
    for call in (remove_schedule, pause_schedule, resume_schedule, schedule_fires):
        with pytest.raises(NotFoundError, match="no schedule 'nightly'; `runwright schedule list`"):
            await call(session, "nightly")  # type: ignore[operator]


async def test_add_checks_everything_up_front(
    session: Session, pipeline: Path, tmp_path: Path
) -> None:
    await add(session, pipeline)
    with pytest.raises(StateError, match="already exists; remove it first with `runwright sch"):
        await add(session, pipeline)
    with pytest.raises(UsageError, match="schedule name '-x' is not allowed"):
        await add(session, pipeline, name="-x")
    with pytest.raises(InputError, match="'nope'"):
        await add(session, pipeline, name="other", inputs={"nope": "1"})
    with pytest.raises(SpecError):
        await add(session, tmp_path / "missing.yaml", name="other")
    assert [s.name for s in await list_schedules(session)] == ["nightly"]


async def test_a_fire_time_starts_exactly_one_run(session: Session, pipeline: Path) -> None:
    await add(session, pipeline, inputs={"who": "cron"})
    assert await tick(session, now=F0 - 1) == []
    assert await run_count(session) == 0

    [(name, fire, run_id)] = await tick(session, now=F0)
    assert (name, fire) == ("nightly", F0)
    run = await session.store.get_run(run_id)
    assert run.status is RunStatus.RUNNING  # left for workers
    assert (run.pipeline, run.inputs, run.spec_path) == (
        "nightly",
        {"who": "cron"},
        str(pipeline.resolve()),
    )
    assert [str(a.state) for a in await session.store.attempts(run_id)] == ["ready"]

    assert await tick(session, now=F0) == []
    assert await tick(session, now=F0 + 299) == []
    assert await run_count(session) == 1
    assert await schedule_fires(session, "nightly") == [(F0, run_id)]
    s = await session.store.schedule("nightly")
    assert (s.next_fire, s.last_fire, s.last_run_id) == (F0 + 300, F0, run_id)


@pytest.mark.parametrize(
    ("catchup", "late_by", "expected"),
    [
        ("all", 90, [F0, F0 + 300, F0 + 600, F0 + 900]),
        ("latest", 90, [F0 + 900]),
        ("none", 90, []),  # the newest fire is more than GRACE late: skipped
        ("none", 30, [F0 + 900]),  # on time
    ],
)
async def test_catchup_after_downtime(
    session: Session, pipeline: Path, catchup: str, late_by: int, expected: list[int]
) -> None:
    await add(session, pipeline, catchup=catchup)
    now = F0 + 900 + late_by  # four fire times passed while no scheduler ran
    fired = await tick(session, now=now)
    assert [f for _, f, _ in fired] == expected
    assert [(f, r) for _, f, r in fired] == await schedule_fires(session, "nightly")
    assert await run_count(session) == len(expected)
    assert (await session.store.schedule("nightly")).next_fire == F0 + 1200
    assert await tick(session, now=now) == []


async def test_catchup_all_continues_over_several_ticks(session: Session, pipeline: Path) -> None:
    await add_schedule(session, "minutely", pipeline, cron="* * * * *", catchup="all", now=T0)
    now = T0 + 60 * (MAX_FIRES_PER_TICK + 20)
    assert len(await tick(session, now=now)) == MAX_FIRES_PER_TICK
    assert len(await tick(session, now=now)) == 20
    assert await tick(session, now=now) == []
    fires = [f for f, _ in await schedule_fires(session, "minutely")]
    assert fires == [T0 + 60 * i for i in range(1, MAX_FIRES_PER_TICK + 21)]


async def test_racing_schedulers_start_one_run_per_fire_time(
    open_session: Callable[[], Session], pipeline: Path
) -> None:
    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(open_session()) for _ in range(3)]
        for name in ("a", "b", "c"):
            await add(sessions[0], pipeline, name=name, catchup="all")
        started: list[tuple[str, int, str]] = []
        # Each round, three schedulers race over two missed fires of each schedule.
        for now in (F0 + 300, F0 + 900, F0 + 900, F0 + 1500):
            rounds = await asyncio.gather(*(tick(s, now=now) for s in sessions))
            started += [fired for one in rounds for fired in one]
        expected = [F0 + 300 * i for i in range(6)]
        for name in ("a", "b", "c"):
            fires = await schedule_fires(sessions[0], name)
            assert [f for f, _ in fires] == expected
            assert sorted((f, r) for n, f, r in started if n == name) == fires
        runs = await sessions[0].store.list_runs(limit=1000)
        assert sorted(r.id for r in runs) == sorted(r for _, _, r in started)
        assert len(runs) == 3 * len(expected)


async def test_a_fire_time_claimed_already_rolls_its_run_back(
    session: Session, pipeline: Path
) -> None:
    await add(session, pipeline, catchup="all")
    [(_, _, first)] = await tick(session, now=F0)
    # As if a scheduler's advance of next_fire had been lost: F0 is due again.
    async with session.store.transaction() as tx:
        await tx.update_schedule("nightly", next_fire=F0)
    fired = await tick(session, now=F0 + 600)
    assert [f for _, f, _ in fired] == [F0 + 300, F0 + 600]
    assert [f for f, _ in await schedule_fires(session, "nightly")] == [F0, F0 + 300, F0 + 600]
    assert (await schedule_fires(session, "nightly"))[0] == (F0, first)
    assert await run_count(session) == 3  # the run made again for F0 did not survive
    assert (await session.store.schedule("nightly")).next_fire == F0 + 900


async def test_a_broken_pipeline_file_skips_the_fire_and_moves_on(
    session: Session, pipeline: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await add(session, pipeline)
    pipeline.write_text("name: nightly\nsteps: [oops\n")
    with caplog.at_level(logging.WARNING, logger="runwright.scheduler"):
        assert await tick(session, now=F0) == []
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "schedule.fire_failed"]
    assert "nightly" in record.getMessage() and str(pipeline) in record.getMessage()
    assert await run_count(session) == 0
    assert (await session.store.schedule("nightly")).next_fire == F0 + 300  # no spinning

    pipeline.write_text(PIPELINE)
    assert [f for _, f, _ in await tick(session, now=F0 + 300)] == [F0 + 300]


async def test_a_corrupt_schedule_does_not_stop_the_others(
    session: Session, pipeline: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = ScheduleRecord("aaa", str(pipeline), "not a cron", "UTC", {}, "latest", False, F0, T0)
    async with session.store.transaction() as tx:
        await tx.insert_schedule(bad)
    await add(session, pipeline)
    with caplog.at_level(logging.WARNING, logger="runwright.scheduler"):
        fired = await tick(session, now=F0)
    assert [n for n, _, _ in fired] == ["nightly"]
    assert any(getattr(r, "event", None) == "schedule.error" for r in caplog.records)


async def test_run_scheduler_fires_due_schedules_until_stopped(
    session: Session, pipeline: Path
) -> None:
    await add_schedule(session, "minutely", pipeline, cron="* * * * *")
    due_now = latest_at_or_before("* * * * *", "UTC", time.time())
    assert due_now is not None
    async with session.store.transaction() as tx:
        await tx.update_schedule("minutely", next_fire=due_now)
    stopping = asyncio.Event()
    task = asyncio.create_task(run_scheduler(session, stopping, interval=0.05))
    try:
        deadline = time.monotonic() + 20
        while not await schedule_fires(session, "minutely") and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        # (A minute boundary passing meanwhile may add the next fire; the first is ours.)
        assert [f for f, _ in await schedule_fires(session, "minutely")][:1] == [due_now]
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=5)
