"""A cache hit's commit, and the pieces of a step's context it shares with a real run.

A hit commits the cached value as the attempt's output (state ``cached``, a
``cache.hit`` event) with no call; a kind that leaves files behind (an llm step's
``files:``) replays them into the workspace first, so a hit leaves what the call did.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from runwright.engine.commit import attempt_event
from runwright.engine.context import RunContext
from runwright.errors import FatalStepError
from runwright.events import Event, EventType, Level
from runwright.states import AttemptState
from runwright.steps.base import StepContext
from runwright.store.base import Transaction
from runwright.store.records import NO_ITEM, AttemptRecord, CacheEntry
from runwright.workspace import FileWrite

A = AttemptState
#: Runs ``write(tx)`` in one transaction that also claims follow-up work.
Write = Callable[[Transaction], Awaitable[None]]
Finish = Callable[[Write], Awaitable[list[AttemptRecord]]]


def dump_output(rc: RunContext, value: Any) -> str:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise FatalStepError(
            f"the step returned a {type(value).__name__}, which is not JSON ({exc}); "
            "return strings, numbers, booleans, lists and mappings"
        ) from exc
    return rc.committer.redactor.redact(text)


async def commit_hit(
    rc: RunContext,
    a: AttemptRecord,
    key: str,
    entry: CacheEntry,
    params: dict[str, Any],
    *,
    worker_id: str,
    finish: Finish,
) -> list[AttemptRecord]:
    events = [
        attempt_event(
            a,
            EventType.CACHE_HIT,
            {"key": key, "from_run": entry.run_id, "from_step": entry.step_id},
        )
    ]
    replay = getattr(rc.plan.steps[a.step_id].kind, "replay", None)
    if replay is not None:
        # A hit must leave the workspace as the call did (an llm step's files:), even
        # in another workspace; identical files are `nochange` writes.
        await replay(replay_context(rc, a, events), params, entry.value)
    if a.item == NO_ITEM:
        rc.remember(a.step_id, A.CACHED, entry.value)
    output_json = dump_output(rc, entry.value)
    return await finish(
        lambda tx: rc.committer.succeed(
            tx, a, output_json, events, old=A.LEASED, new=A.CACHED, worker_id=worker_id
        )
    )


def replay_context(rc: RunContext, a: AttemptRecord, events: list[Event]) -> StepContext:
    def emit(type_: EventType, level: Level, data: dict[str, Any]) -> None:
        events.append(attempt_event(a, type_, data, level))

    assert rc.workspace is not None
    return StepContext(
        run_id=a.run_id,
        step_id=a.step_id,
        attempt=a.number,
        item=a.item_or_none,
        idempotency_key=idempotency_key(a),
        workspace=rc.workspace.bind(
            lambda fw: emit(EventType.FILE_WRITTEN, Level.INFO, file_data(fw))
        ),
        pipeline_dir=rc.pipeline_dir,
        env=rc.env,
        config=rc.config,
        _emit=emit,
        redactor=rc.committer.redactor,
    )


def idempotency_key(a: AttemptRecord) -> str:
    return f"{a.run_id}:{a.step_id}" + ("" if a.item == NO_ITEM else f"[{a.item}]")


def file_data(fw: FileWrite) -> dict[str, Any]:
    return asdict(fw)
