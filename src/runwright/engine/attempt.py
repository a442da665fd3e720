"""Executing one attempt: decide (skip, cache), commit intent, act, commit the outcome."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from runwright.cachekey import cache_key
from runwright.engine.commit import attempt_event
from runwright.engine.context import RunContext
from runwright.errors import (
    FatalStepError,
    IllegalTransition,
    RunwrightError,
    StepError,
    StepTimeout,
)
from runwright.events import Event, EventType, Level
from runwright.states import AttemptState
from runwright.steps.base import StepContext, WaitForApproval
from runwright.store.base import Store, Transaction
from runwright.store.records import NO_ITEM, AttemptRecord, NewAttempt
from runwright.workspace import FileWrite

A = AttemptState
#: Runs ``write(tx)`` in one transaction that also claims follow-up work.
Finish = Callable[[Callable[[Transaction], Awaitable[None]]], Awaitable[list[AttemptRecord]]]
_TAIL = 2000


class _Failure(Exception):
    def __init__(self, message: str, *, retryable: bool, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.data = data or {}


def _classify(exc: BaseException, timeout: float | None) -> _Failure:
    if isinstance(exc, TimeoutError):
        return _Failure(
            str(StepTimeout(f"step exceeded its timeout of {timeout:g}s")), retryable=True
        )
    data: dict[str, Any] = {}
    output = getattr(exc, "output", None)
    if isinstance(output, dict):
        data = {k: str(v)[-_TAIL:] for k, v in output.items() if k in ("stderr", "stdout")}
        if "exit_code" in output:
            data["exit_code"] = output["exit_code"]
    if isinstance(exc, FatalStepError):
        return _Failure(str(exc), retryable=False, data=data)
    if isinstance(exc, StepError):
        return _Failure(str(exc), retryable=exc.retryable, data=data)
    if isinstance(exc, RunwrightError):
        return _Failure(str(exc), retryable=False, data=data)
    return _Failure(f"{type(exc).__name__}: {exc}", retryable=True, data=data)


def _dump(rc: RunContext, value: Any) -> str:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise FatalStepError(
            f"the step returned a {type(value).__name__}, which is not JSON ({exc}); "
            "return strings, numbers, booleans, lists and mappings"
        ) from exc
    return rc.committer.redactor.redact(text)


async def execute(
    rc: RunContext, a: AttemptRecord, *, store: Store, worker_id: str, finish: Finish
) -> list[AttemptRecord]:
    """Run attempt ``a`` to a committed outcome; return the attempts claimed with it."""
    step = rc.plan.steps[a.step_id]
    events: list[Event] = []
    state = a.state
    committer = rc.committer
    try:
        if state is A.LEASED and step.for_each and a.item == NO_ITEM:
            return await _expand(rc, a, store=store, worker_id=worker_id, finish=finish)
        context = await rc.template_context(store, a)
        if state is A.LEASED and a.item == NO_ITEM:
            reason = await _skip_reason(rc, a, store, context)
            if reason is not None:
                rc.remember(a.step_id, A.SKIPPED, None)
                return await finish(
                    lambda tx: committer.skip(tx, a, reason, events, worker_id=worker_id)
                )
        params = rc.plan.compiled.render_with(a.step_id, context)
        key = None
        if step.cache:
            key = cache_key(
                kind=step.kind.name,
                version=step.kind.version,
                params=params,
                code_version=step.kind.code_version(params, rc.pipeline_dir),
                user_key=rc.plan.compiled.render_cache_key(a.step_id, context),
            )
            if not rc.no_cache:
                claimed = await _try_cache(
                    rc, a, key, store=store, worker_id=worker_id, finish=finish, events=events
                )
                if claimed is not None:
                    return claimed
        if state is A.LEASED:
            events.append(attempt_event(a, EventType.STEP_STARTED, started_data(rc, a)))
            if not step.kind.pure:
                # Intent before side effects: step.started is durable before the kind acts.
                async with store.transaction() as tx:
                    await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id=worker_id)
                    await tx.add_events(events)
                events.clear()
                state = A.RUNNING

        def emit(type_: EventType, level: Level, data: dict[str, Any]) -> None:
            events.append(attempt_event(a, type_, data, level))

        assert rc.workspace is not None
        workspace = rc.workspace.bind(
            lambda fw: emit(EventType.FILE_WRITTEN, Level.INFO, _file_data(fw))
        )
        ctx = StepContext(
            run_id=a.run_id,
            step_id=a.step_id,
            attempt=a.number,
            item=a.item_or_none,
            idempotency_key=_idempotency_key(a),
            workspace=workspace,
            pipeline_dir=rc.pipeline_dir,
            env=rc.env,
            timeout=step.timeout,
            _emit=emit,
        )
        if step.timeout is not None:
            async with asyncio.timeout(step.timeout):
                result = await step.kind.run(ctx, params)
        else:
            result = await step.kind.run(ctx, params)
        if isinstance(result, WaitForApproval):
            parked = rc.committer.clean(events)
            return await finish(lambda tx: _park(tx, a, state, result, parked, worker_id))
        output_json = _dump(rc, result)
        if a.item == NO_ITEM:
            rc.remember(a.step_id, A.SUCCEEDED, result)
        return await finish(
            lambda tx: committer.succeed(
                tx, a, output_json, events, old=state, worker_id=worker_id, cache_key=key
            )
        )
    except asyncio.CancelledError:
        await _cancelled(store, a, state, rc.committer.clean(events), worker_id)
        raise
    except IllegalTransition:
        raise  # fenced out: not this step's failure, so `except Exception` must not record it
    except Exception as exc:
        failure = _classify(exc, step.timeout)
        events.extend(_failure_events(a, failure))
        return await finish(lambda tx: _fail(rc, tx, a, state, failure, events, worker_id))


async def _fail(
    rc: RunContext,
    tx: Transaction,
    a: AttemptRecord,
    state: AttemptState,
    failure: _Failure,
    events: list[Event],
    worker_id: str,
) -> None:
    if state is A.LEASED:
        await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id=worker_id)
    await rc.committer.fail(
        tx, a, str(failure), events, retryable=failure.retryable, worker_id=worker_id
    )


def _failure_events(a: AttemptRecord, failure: _Failure) -> list[Event]:
    if not failure.data:
        return []
    return [attempt_event(a, EventType.STEP_LOG, failure.data, Level.WARNING)]


async def _cancelled(
    store: Store, a: AttemptRecord, state: AttemptState, events: list[Event], worker_id: str
) -> None:
    try:
        async with store.transaction() as tx:
            await tx.transition(a.id, state, A.CANCELLED, reason="cancelled", worker_id=worker_id)
            await tx.add_events(
                [
                    *events,
                    attempt_event(a, EventType.STEP_FAILED, {"error": "cancelled"}, Level.WARNING),
                ]
            )
    except IllegalTransition:
        pass  # already moved on (e.g. the run was resumed elsewhere); nothing to record


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


async def _try_cache(
    rc: RunContext,
    a: AttemptRecord,
    key: str,
    *,
    store: Store,
    worker_id: str,
    finish: Finish,
    events: list[Event],
) -> list[AttemptRecord] | None:
    async with store.transaction() as tx:
        entry = await tx.cache_get(key)
    if entry is None:
        events.append(attempt_event(a, EventType.CACHE_MISS, {"key": key}))
        return None
    events.append(
        attempt_event(
            a,
            EventType.CACHE_HIT,
            {"key": key, "from_run": entry.run_id, "from_step": entry.step_id},
        )
    )
    if a.item == NO_ITEM:
        rc.remember(a.step_id, A.CACHED, entry.value)
    output_json = _dump(rc, entry.value)
    return await finish(
        lambda tx: rc.committer.succeed(
            tx, a, output_json, events, old=A.LEASED, new=A.CACHED, worker_id=worker_id
        )
    )


async def _expand(
    rc: RunContext, a: AttemptRecord, *, store: Store, worker_id: str, finish: Finish
) -> list[AttemptRecord]:
    context = await rc.template_context(store, a)
    reason = await _skip_reason(rc, a, store, context)
    if reason is not None:
        rc.remember(a.step_id, A.SKIPPED, None)
        return await finish(lambda tx: rc.committer.skip(tx, a, reason, [], worker_id=worker_id))
    items = rc.plan.compiled.evaluate_for_each(a.step_id, context)
    payloads = [_dump(rc, item) for item in items]

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


def _idempotency_key(a: AttemptRecord) -> str:
    return f"{a.run_id}:{a.step_id}" + ("" if a.item == NO_ITEM else f"[{a.item}]")


def started_data(rc: RunContext, a: AttemptRecord) -> dict[str, Any]:
    return {"kind": rc.plan.steps[a.step_id].kind.name, "idempotency_key": _idempotency_key(a)}


def _file_data(fw: FileWrite) -> dict[str, Any]:
    return asdict(fw)
