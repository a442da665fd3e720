"""Executing one attempt: decide (skip, cache), commit intent, act, commit the outcome."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from runwright.cachekey import cache_key
from runwright.engine.commit import attempt_event
from runwright.engine.context import RunContext
from runwright.engine.failure import Failure, classify, failure_events
from runwright.engine.governance import govern
from runwright.engine.hit import (
    Finish,
    Write,
    commit_hit,
    dump_output,
    file_data,
    idempotency_key,
)
from runwright.engine.itemgroup import ItemSuccess
from runwright.engine.logwriter import LogWriter
from runwright.engine.orphans import clear_orphans
from runwright.engine.resilience import retrying, transact
from runwright.engine.spending import LazySpendGuard
from runwright.errors import (
    IllegalTransition,
    StoreUnavailable,
)
from runwright.events import Event, EventType, Level
from runwright.processes import ProcessGroup
from runwright.states import AttemptState
from runwright.steps.base import StepContext, StepKind, WaitForApproval
from runwright.store.base import Store, Transaction
from runwright.store.records import NO_ITEM, AttemptRecord, CacheEntry, LogChunk, NewAttempt

if TYPE_CHECKING:
    pass

A = AttemptState


def _code_version(kind: StepKind, params: Mapping[str, Any], rc: RunContext) -> str | None:
    """The kind's code version, plus what it says the project configuration contributes."""
    own = kind.code_version(params, rc.pipeline_dir)
    hook = getattr(kind, "config_version", None)
    if hook is None:
        return own
    return json.dumps([own, hook(params, config=rc.config)])


@dataclass(slots=True)
class _Start:
    """What an attempt read before acting: all of it read again if the database was lost."""

    context: dict[str, Any]
    skip: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    hit: CacheEntry | None = None
    #: Why an on_fail loop sent the work back here (``StepContext.feedback``).
    feedback: str | None = None


async def _prepare(rc: RunContext, a: AttemptRecord, store: Store, *, render: bool) -> _Start:
    # Only reads (outputs of needs, the item's payload, need states, the cache entry):
    # safe to repeat as a whole, which is how a lost connection here is ridden out.
    step = rc.plan.steps[a.step_id]
    context = await rc.template_context(store, a)
    if a.state is A.LEASED and a.item == NO_ITEM:
        reason = await _skip_reason(rc, a, store, context)
        if reason is not None:
            return _Start(context, skip=reason)
    if not render:
        return _Start(context)
    start = _Start(context, params=rc.plan.compiled.render_with(a.step_id, context))
    if a.step_id in rc.plan.loop_targets:
        async with store.transaction() as tx:
            raw = await tx.step_payload(a.run_id, a.step_id)
        start.feedback = None if raw is None else json.loads(raw).get("feedback")
    if step.cache:
        user_key = rc.plan.compiled.render_cache_key(a.step_id, context)
        start.key = cache_key(
            kind=step.kind.name,
            version=step.kind.version,
            params=start.params,
            code_version=_code_version(step.kind, start.params, rc),
            # Work sent back with feedback must not be answered by the result it replaces.
            user_key=user_key if start.feedback is None else [user_key, start.feedback],
        )
        if not rc.no_cache:
            async with store.transaction() as tx:
                start.hit = await tx.cache_get(start.key)
    return start


async def execute(
    rc: RunContext, a: AttemptRecord, *, store: Store, worker_id: str, finish: Finish
) -> list[AttemptRecord]:
    """Run attempt ``a`` to a committed outcome; return the attempts claimed with it.

    Every store call is retried on a lost connection (the reads before acting as
    one unit, then the intent, then the outcome, each a transaction retried
    whole by :mod:`~runwright.engine.resilience`): an outage of the database is
    waited out and never recorded as the step's failure.
    """
    step = rc.plan.steps[a.step_id]
    events: list[Event] = []
    logs: list[LogChunk] = []
    state = a.state
    committer = rc.committer
    try:
        if state is A.LEASED and step.for_each and a.item == NO_ITEM:
            return await _expand(rc, a, store=store, worker_id=worker_id, finish=finish)
        start = await retrying(store, "start a step", partial(_prepare, rc, a, store, render=True))
        if start.skip is not None:
            reason = start.skip
            rc.remember(a.step_id, A.SKIPPED, None)
            return await finish(
                lambda tx: committer.skip(tx, a, reason, events, worker_id=worker_id)
            )
        params, key = start.params, start.key
        if key is not None and not rc.no_cache:
            if start.hit is not None:
                return await commit_hit(
                    rc, a, key, start.hit, params, worker_id=worker_id, finish=finish
                )
            events.append(attempt_event(a, EventType.CACHE_MISS, {"key": key}))
        if state is A.LEASED:
            events.append(attempt_event(a, EventType.STEP_STARTED, started_data(rc, a)))
            if not step.kind.pure:
                # Intent before side effects: step.started is durable before the kind acts.
                await _commit_intent(store, a, events, worker_id)
                events.clear()
                state = A.RUNNING

        def emit(type_: EventType, level: Level, data: dict[str, Any]) -> None:
            events.append(attempt_event(a, type_, data, level))

        # A re-run acts only once nothing of the attempt it replaces is alive.
        await clear_orphans(store, a)

        async def record_process(group: ProcessGroup) -> None:
            async def once() -> None:
                async with store.transaction() as tx:
                    await tx.record_process(a.id, group.to_json(), worker_id=worker_id)

            await retrying(store, "record a step's processes", once)

        assert rc.workspace is not None
        workspace = rc.workspace.bind(
            lambda fw: emit(EventType.FILE_WRITTEN, Level.INFO, file_data(fw))
        )
        writer = LogWriter(store, a, committer.redactor)
        ctx = StepContext(
            run_id=a.run_id,
            step_id=a.step_id,
            attempt=a.number,
            item=a.item_or_none,
            idempotency_key=idempotency_key(a),
            workspace=workspace,
            pipeline_dir=rc.pipeline_dir,
            env=rc.env,
            timeout=step.timeout,
            config=rc.config,
            _emit=emit,
            redactor=committer.redactor,
            _log=writer.write,
            _on_process=record_process,
            store=store,
            guard=LazySpendGuard(rc, a, store),
            _progress=_progress_of(rc, a),
            feedback=start.feedback,
        )
        try:
            # Before the kind acts: may it, at the step's trust level? (or ask a person)
            wait = await govern(rc, store, a, params, emit)
            if wait is not None:
                result: Any = wait
            elif step.timeout is not None:
                async with asyncio.timeout(step.timeout):
                    result = await step.kind.run(ctx, params)
            else:
                result = await step.kind.run(ctx, params)
        finally:
            # The tail of the output commits with the outcome, whatever it is.
            logs = await writer.close()
        if isinstance(result, WaitForApproval):
            parked = rc.committer.clean(events)
            return await finish(
                _logged(logs, lambda tx: _park(tx, a, state, result, parked, worker_id))
            )
        output_json = dump_output(rc, result)
        if a.item == NO_ITEM:
            rc.remember(a.step_id, A.SUCCEEDED, result)
        elif state is A.RUNNING and key is None:
            # May commit together with other items of the run finishing now.
            return await finish(ItemSuccess(committer, a, output_json, events, logs, worker_id))
        return await finish(
            _logged(
                logs,
                lambda tx: committer.succeed(
                    tx, a, output_json, events, old=state, worker_id=worker_id, cache_key=key
                ),
            )
        )
    except asyncio.CancelledError:
        await _cancelled(store, a, state, rc.committer.clean(events), worker_id, logs)
        raise
    except (IllegalTransition, StoreUnavailable):
        # Fenced out, or the database is gone: neither is this step's failure, so the
        # `except Exception` below must not record it as one.
        raise
    except Exception as exc:
        failure = classify(exc, step.timeout, committer.redactor)
        events.extend(failure_events(a, failure))
        return await finish(
            _logged(logs, lambda tx: _fail(rc, tx, a, state, failure, events, worker_id))
        )


def _logged(logs: list[LogChunk], write: Write) -> Write:
    """``write``, preceded by the attempt's last log chunks, in one transaction."""
    if not logs:
        return write

    async def both(tx: Transaction) -> None:
        await tx.add_log_chunks(logs)
        await write(tx)

    return both


async def _commit_intent(
    store: Store, a: AttemptRecord, events: list[Event], worker_id: str
) -> None:
    tries = 0

    async def write(tx: Transaction) -> None:
        nonlocal tries
        tries += 1
        if tries > 1:
            # The previous try's COMMIT may have landed with its reply lost; being
            # refused by fencing then would strand the attempt, so look first.
            now = await tx.current_attempt(a.run_id, a.step_id, a.item)
            if now is not None and now.id == a.id and now.state is A.RUNNING:
                return
        await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id=worker_id)
        await tx.add_events(events)

    await transact(store, "record a step's start", write)


async def _fail(
    rc: RunContext,
    tx: Transaction,
    a: AttemptRecord,
    state: AttemptState,
    failure: Failure,
    events: list[Event],
    worker_id: str,
) -> None:
    if state is A.LEASED:
        await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id=worker_id)
    await rc.committer.fail(
        tx, a, str(failure), events, retryable=failure.retryable, worker_id=worker_id
    )


async def _cancelled(
    store: Store,
    a: AttemptRecord,
    state: AttemptState,
    events: list[Event],
    worker_id: str,
    logs: list[LogChunk],
) -> None:
    try:
        async with store.transaction() as tx:
            await tx.add_log_chunks(logs)
            await tx.transition(a.id, state, A.CANCELLED, reason="cancelled", worker_id=worker_id)
            await tx.add_events(
                [
                    *events,
                    attempt_event(a, EventType.STEP_FAILED, {"error": "cancelled"}, Level.WARNING),
                ]
            )
    except IllegalTransition:
        pass  # already moved on (e.g. the run was resumed elsewhere); nothing to record
    except StoreUnavailable:
        # Cancelled while the database is away: the lease lapses and the attempt is
        # reopened like any other whose worker went silent.
        pass


async def _park(
    tx: Transaction,
    a: AttemptRecord,
    state: AttemptState,
    wait: WaitForApproval,
    events: list[Event],
    worker_id: str,
) -> None:
    if state is A.LEASED:
        await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id=worker_id)
    await tx.transition(a.id, A.RUNNING, A.WAITING, worker_id=worker_id)
    data = {"prompt": wait.prompt, **wait.data}
    await tx.add_events(
        [
            *events,
            attempt_event(a, EventType.STEP_WAITING, data),
            attempt_event(a, EventType.APPROVAL_REQUESTED, data),
        ]
    )


async def _skip_reason(
    rc: RunContext, a: AttemptRecord, store: Store, context: dict[str, Any]
) -> str | None:
    step = rc.plan.steps[a.step_id]
    if step.has_if:
        if not rc.plan.compiled.evaluate_if(a.step_id, context):
            return "if: condition is false"
        return None
    for need, state in (await rc.need_states(store, a.step_id)).items():
        if not state.done_ok:
            return f"needs {need!r}, which did not succeed"
    return None


def _progress_of(rc: RunContext, a: AttemptRecord) -> Callable[[str], None] | None:
    sink = rc.progress
    if sink is None:
        return None
    step, item = a.step_id, a.item_or_none
    return lambda text: sink(step, item, text)


async def _expand(
    rc: RunContext, a: AttemptRecord, *, store: Store, worker_id: str, finish: Finish
) -> list[AttemptRecord]:
    start = await retrying(store, "start a step", partial(_prepare, rc, a, store, render=False))
    reason = start.skip
    if reason is not None:
        rc.remember(a.step_id, A.SKIPPED, None)
        return await finish(lambda tx: rc.committer.skip(tx, a, reason, [], worker_id=worker_id))
    items = rc.plan.compiled.evaluate_for_each(a.step_id, start.context)
    payloads = [dump_output(rc, item) for item in items]

    async def write(tx: Transaction) -> None:
        await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id=worker_id)
        started = attempt_event(a, EventType.STEP_STARTED, {"items": len(items)})
        if not items:
            await rc.committer.succeed(tx, a, "[]", [started], worker_id=worker_id)
            return
        await tx.expand(a.id, len(items))
        await tx.insert_attempts(
            [
                NewAttempt(
                    a.run_id,
                    a.step_id,
                    1,
                    A.READY,
                    item=i,
                    reason="for_each",
                    payload=p,
                    labels=rc.plan.steps[a.step_id].labels,
                )
                for i, p in enumerate(payloads)
            ]
        )
        await tx.add_events([started])

    return await finish(write)


def started_data(rc: RunContext, a: AttemptRecord) -> dict[str, Any]:
    return {"kind": rc.plan.steps[a.step_id].kind.name, "idempotency_key": idempotency_key(a)}
