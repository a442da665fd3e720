"""Outcomes of attempts, written in one transaction each.

Everything a dependent may see — the attempt's new state, its output, its
events, its cache entry, the dependents' readiness — is written through the
same :class:`~runwright.store.base.Transaction`, so a crash either loses all of
it or none of it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from runwright.engine.plan import Plan
from runwright.events import Event, EventType, Level
from runwright.redaction import Redactor
from runwright.states import AttemptState, RunStatus
from runwright.store.base import Transaction
from runwright.store.records import NO_ITEM, AttemptRecord, NewAttempt

A = AttemptState


def attempt_event(
    a: AttemptRecord,
    type: EventType,
    data: dict[str, Any] | None = None,
    level: Level = Level.INFO,
) -> Event:
    return Event(type, a.run_id, a.step_id, a.number, a.item_or_none, level, data or {})


async def fail_run(tx: Transaction, run_id: str, error: str) -> None:
    """Fail a run that is still running or waiting (one that already ended is left alone)."""
    status = await tx.lock_run(run_id)
    if status in (RunStatus.RUNNING, RunStatus.WAITING):
        await tx.set_run_status(run_id, RunStatus.FAILED, error=error, finished=True)
        await tx.add_events(
            [Event(EventType.RUN_FAILED, run_id, level=Level.ERROR, data={"error": error})]
        )


class Committer:
    """Applies attempt outcomes for one run's plan inside a caller's transaction."""

    def __init__(self, plan: Plan, redactor: Redactor) -> None:
        self.plan = plan
        self.redactor = redactor

    def clean(self, events: Sequence[Event]) -> list[Event]:
        """Events with secret values masked: every event a step produced passes here."""
        if not self.redactor:
            return list(events)
        return [
            replace(e, data=json.loads(self.redactor.redact(json.dumps(e.data, default=str))))
            for e in events
        ]

    async def succeed(
        self,
        tx: Transaction,
        a: AttemptRecord,
        output_json: str,
        events: Sequence[Event],
        *,
        old: AttemptState = A.RUNNING,
        new: AttemptState = A.SUCCEEDED,
        worker_id: str | None = None,
        cache_key: str | None = None,
    ) -> None:
        """Record a successful (or cached) attempt and release what it unblocks."""
        if old is A.LEASED and new is A.SUCCEEDED:
            await tx.transition(a.id, A.LEASED, A.RUNNING, worker_id=worker_id)
            old = A.RUNNING
        await tx.transition(a.id, old, new, worker_id=worker_id)
        await tx.put_output(a.run_id, a.step_id, a.item, a.id, output_json)
        if cache_key is not None:
            await tx.cache_put(
                cache_key,
                kind=self.plan.steps[a.step_id].kind.name,
                value_json=output_json,
                run_id=a.run_id,
                step_id=a.step_id,
            )
        done = attempt_event(a, EventType.STEP_SUCCEEDED, {"cached": new is A.CACHED})
        await tx.add_events([*self.clean(events), done])
        await self._node_finished(tx, a, ok=True)

    async def fail(
        self,
        tx: Transaction,
        a: AttemptRecord,
        error: str,
        events: Sequence[Event],
        *,
        retryable: bool,
        old: AttemptState = A.RUNNING,
        worker_id: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Record a failed attempt: schedule a retry if allowed, else fail the step.

        Returns True when a retry was scheduled.
        """
        error = self.redactor.redact(error)
        events = self.clean(events)
        step = self.plan.steps[a.step_id]
        await tx.transition(a.id, old, A.FAILED, error=error, worker_id=worker_id, reason=reason)
        if retryable and a.try_ < step.retry.attempts:
            delay = step.retry.delay(a.try_)
            await tx.supersede([a.id])
            await tx.insert_attempts(
                [
                    NewAttempt(
                        a.run_id,
                        a.step_id,
                        a.number + 1,
                        A.READY,
                        item=a.item,
                        try_=a.try_ + 1,
                        reason="retry",
                        labels=step.labels,
                        not_before=time.time() + delay,
                    )
                ]
            )
            await tx.add_events(
                [
                    *events,
                    attempt_event(
                        a,
                        EventType.STEP_RETRYING,
                        {"error": error, "delay": round(delay, 3), "next_attempt": a.number + 1},
                        Level.WARNING,
                    ),
                ]
            )
            return True
        if step.loop and a.item == NO_ITEM:
            sent, error = await self._send_back(tx, a, error, events)
            if sent:
                return True
        await tx.add_events(
            [
                *events,
                attempt_event(
                    a,
                    EventType.STEP_FAILED,
                    {"error": error, "on_failure": step.on_failure},
                    Level.ERROR,
                ),
            ]
        )
        if step.on_failure == "continue":
            await self._node_finished(tx, a, ok=False)
        else:
            await self.fail_run(tx, a.run_id, f"step {a.step_id!r} failed: {error}")
        return False

    async def _send_back(
        self, tx: Transaction, a: AttemptRecord, error: str, events: Sequence[Event]
    ) -> tuple[bool, str]:
        """``on_fail``: run the loop segment again, the retry step with ``error`` as feedback.

        Returns whether the work was sent back, and the error to fail with when it was not
        (saying the loop is exhausted). The loop's count and feedback live in the retry
        step's new attempt (its payload), so any worker, or a resumed process, sees them.
        """
        step = self.plan.steps[a.step_id]
        target = step.loop[0]
        raw = await tx.step_payload(a.run_id, target)
        done = int(json.loads(raw).get("loop", 0)) if raw else 0
        if done >= step.loop_attempts:
            times = "once" if done == 1 else f"{done} times"
            return False, (
                f"{error} (on_fail sent the work back to {target!r} {times}, as many as "
                f"on_fail.attempts allows; raise it to try more)"
            )
        members = set(step.loop)
        current = [await tx.current_attempt(a.run_id, sid, NO_ITEM) for sid in step.loop]
        await tx.supersede([c.id for c in current if c is not None])
        feedback = json.dumps({"feedback": error, "loop": done + 1, "from": a.step_id})
        fresh = []
        for sid, c in zip(step.loop, current, strict=True):
            planned = self.plan.steps[sid]
            first = sid == target
            fresh.append(
                NewAttempt(
                    a.run_id,
                    sid,
                    (c.number if c is not None else 0) + 1,
                    A.READY if first else A.PENDING,
                    reason="gate_failed",
                    waiting_on=0 if first else sum(1 for n in planned.needs if n in members),
                    payload=feedback if first else None,
                    labels=planned.labels,
                )
            )
        await tx.insert_attempts(fresh)
        # Each member that had succeeded released its dependents outside the loop, and will
        # release them again when it succeeds anew: hold them back by as many needs.
        held: Counter[str] = Counter()
        for sid, c in zip(step.loop, current, strict=True):
            if c is not None and c.state is A.SUCCEEDED:
                held.update(d for d in self.plan.steps[sid].dependents if d not in members)
        await tx.hold(a.run_id, held)
        data = {
            "error": error,
            "retry_step": target,
            "loop": done + 1,
            "of": step.loop_attempts,
            "steps": list(step.loop),
        }
        await tx.add_events(
            [*events, attempt_event(a, EventType.STEP_SENT_BACK, data, Level.WARNING)]
        )
        return True, error

    async def fail_run(self, tx: Transaction, run_id: str, error: str) -> None:
        await fail_run(tx, run_id, error)

    async def skip(
        self,
        tx: Transaction,
        a: AttemptRecord,
        reason: str,
        events: Sequence[Event],
        *,
        worker_id: str | None = None,
    ) -> None:
        await tx.transition(a.id, A.LEASED, A.SKIPPED, reason=reason, worker_id=worker_id)
        await tx.add_events(
            [*self.clean(events), attempt_event(a, EventType.STEP_SKIPPED, {"reason": reason})]
        )
        await self._node_finished(tx, a, ok=False)

    async def _node_finished(self, tx: Transaction, a: AttemptRecord, *, ok: bool) -> None:
        if a.item != NO_ITEM:
            await self._item_finished(tx, a)
        elif ok:
            await tx.release(a.run_id, self.plan.steps[a.step_id].dependents)
        else:
            await self.propagate_not_ok(tx, a.run_id, a.step_id)

    async def succeed_items(
        self,
        tx: Transaction,
        members: Sequence[tuple[AttemptRecord, str, Sequence[Event]]],
        *,
        worker_id: str,
    ) -> None:
        """Record running for_each items ``(attempt, output JSON, events)`` succeeded at once.

        What :meth:`succeed` writes for each, in a few statements per step; if any of
        them was fenced out, raises :class:`~runwright.errors.IllegalTransition`.
        """
        events: list[Event] = []
        by_step: dict[str, list[tuple[AttemptRecord, str]]] = {}
        for a, output_json, produced in members:
            events.extend(self.clean(produced))
            events.append(attempt_event(a, EventType.STEP_SUCCEEDED, {"cached": False}))
            by_step.setdefault(a.step_id, []).append((a, output_json))
        await tx.add_events(events)
        now = time.time()
        for step_id, done in by_step.items():
            first = done[0][0]
            rows = [(a.id, a.item, output_json) for a, output_json in done]
            parent = await tx.succeed_items(
                first.run_id, step_id, rows, worker_id=worker_id, at=now
            )
            await self._items_counted(tx, first, parent)

    async def _item_finished(self, tx: Transaction, a: AttemptRecord) -> None:
        await self._items_counted(tx, a, await tx.count_item(a.run_id, a.step_id))

    async def _items_counted(
        self, tx: Transaction, a: AttemptRecord, parent: AttemptRecord | None
    ) -> None:
        """Items of ``a``'s step were counted on ``parent``: finish it if they were the last."""
        if parent is None or parent.waiting_on > 0:
            return
        outputs = await tx.item_outputs(a.run_id, a.step_id)
        await tx.transition(parent.id, A.RUNNING, A.SUCCEEDED)
        await tx.put_output(
            a.run_id, a.step_id, NO_ITEM, parent.id, self.redactor.redact(json.dumps(outputs))
        )
        await tx.add_events(
            [attempt_event(parent, EventType.STEP_SUCCEEDED, {"items": len(outputs)})]
        )
        await tx.release(a.run_id, self.plan.steps[a.step_id].dependents)

    async def propagate_not_ok(self, tx: Transaction, run_id: str, step_id: str) -> None:
        """A step was skipped or failed with on_failure: continue.

        Dependents with an ``if:`` decide for themselves (they are released);
        dependents without one are skipped, and so on down the DAG.
        """
        frontier = [step_id]
        while frontier:
            current = frontier.pop()
            dependents = self.plan.steps[current].dependents
            with_if = [d for d in dependents if self.plan.steps[d].has_if]
            await tx.release(run_id, with_if)
            without = [d for d in dependents if not self.plan.steps[d].has_if]
            skipped = await tx.skip_pending(
                run_id, without, f"needs {current!r}, which did not succeed"
            )
            if skipped:
                await tx.add_events(
                    [
                        Event(
                            EventType.STEP_SKIPPED,
                            run_id,
                            s,
                            data={"reason": f"needs {current!r}, which did not succeed"},
                        )
                        for s in skipped
                    ]
                )
                frontier.extend(skipped)
