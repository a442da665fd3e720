"""The plan: an immutable, validated DAG built once from a spec, kept apart from execution."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from runwright.registry import Registry
from runwright.spec.expressions import CompiledPipeline
from runwright.spec.models import Pipeline, RetryPolicy
from runwright.steps.base import StepKind
from runwright.store.sql import labels_key

_NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One step with its defaults applied and its kind resolved."""

    id: str
    kind: StepKind
    needs: tuple[str, ...]
    dependents: tuple[str, ...]
    retry: RetryPolicy
    timeout: float | None
    cache: bool
    on_failure: str
    has_if: bool
    for_each: bool
    #: Referenced by templates: outputs to load before rendering.
    references: frozenset[str]
    #: Started in the same transaction that claims it (nothing to decide first).
    direct_start: bool
    #: Labels a worker needs to claim it, as stored on attempts ("" = any worker).
    labels: str = ""
    #: ``on_fail``: how many times the work may be sent back, and the steps that run
    #: again when it is (the retry step first, this step last, in topological order).
    loop_attempts: int = 0
    loop: tuple[str, ...] = ()
    #: Every dependent needs other steps too (a join): the commit of this step claims
    #: first and releases last, as its siblings' commits update the same rows.
    joins_only: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    pipeline: Pipeline
    compiled: CompiledPipeline
    steps: Mapping[str, PlannedStep]
    #: Step ids in a topological order.
    order: tuple[str, ...]
    #: Steps whose claim also starts them (see :attr:`PlannedStep.direct_start`).
    direct_start: frozenset[str]
    #: for_each steps whose *items* start when claimed (nothing to decide per item).
    direct_start_items: frozenset[str] = frozenset()
    #: Steps that an ``on_fail`` loop may send work back to (their attempts read feedback).
    loop_targets: frozenset[str] = frozenset()
    #: The steps whose claim does not start them (the complement of direct_start).
    held_start: frozenset[str] = frozenset()

    def starts_when_claimed(self, step_id: str, item: int) -> bool:
        """Whether the claim of this attempt (``item`` -1: not an item) also starts it."""
        return step_id in (self.direct_start if item == -1 else self.direct_start_items)


def topological_order(pipeline: Pipeline) -> tuple[str, ...]:
    """Kahn's algorithm, stable in declaration order. The spec validator rejects cycles."""
    return _kahn(pipeline, _dependents(pipeline))


def _dependents(pipeline: Pipeline) -> dict[str, list[str]]:
    """The steps that need each step, in declaration order."""
    dependents: dict[str, list[str]] = {s.id: [] for s in pipeline.steps}
    for s in pipeline.steps:
        for need in dict.fromkeys(s.needs):
            dependents[need].append(s.id)
    return dependents


def _kahn(pipeline: Pipeline, dependents: Mapping[str, list[str]]) -> tuple[str, ...]:
    remaining = {s.id: len(set(s.needs)) for s in pipeline.steps}
    ready = deque(s.id for s in pipeline.steps if remaining[s.id] == 0)
    order: list[str] = []
    while ready:
        current = ready.popleft()
        order.append(current)
        for dep in dependents[current]:
            remaining[dep] -= 1
            if remaining[dep] == 0:
                ready.append(dep)
    return tuple(order)


def _unique(needs: tuple[str, ...]) -> tuple[str, ...]:
    # The spec's own tuple when it repeats nothing (almost always): not a copy per step.
    return needs if len(set(needs)) == len(needs) else tuple(dict.fromkeys(needs))


def build_plan(
    pipeline: Pipeline, registry: Registry, compiled: CompiledPipeline | None = None
) -> Plan:
    """Resolve kinds, apply defaults and index the DAG."""
    compiled = compiled or CompiledPipeline(pipeline)
    defaults = pipeline.defaults
    # Once for the plan and its order: a 10,000-step plan builds 10,000 lists once, not twice.
    dependents = _dependents(pipeline)
    order = _kahn(pipeline, dependents)
    steps: dict[str, PlannedStep] = {}
    joins = {s.id for s in pipeline.steps if len(set(s.needs)) > 1}
    for s in pipeline.steps:
        kind = registry.get(s.uses)
        cache = kind.pure if s.cache is None else s.cache is not False  # {key: ...} is on
        has_if = s.if_ is not None and s.if_ is not True
        for_each = s.for_each is not None
        mine = tuple(dependents.pop(s.id))  # each list freed as it is copied
        steps[s.id] = PlannedStep(
            id=s.id,
            kind=kind,
            needs=_unique(s.needs),
            dependents=mine,
            retry=s.retry or defaults.retry or _NO_RETRY,
            timeout=s.timeout if s.timeout is not None else defaults.timeout,
            cache=cache,
            on_failure=s.on_failure or defaults.on_failure or "stop",
            has_if=has_if,
            for_each=for_each,
            references=compiled.references(s.id),
            direct_start=not (has_if or for_each or cache),
            labels=labels_key(s.labels),
            loop_attempts=s.on_fail.attempts if s.on_fail else 0,
            joins_only=bool(mine) and all(d in joins for d in mine),
        )
    for s in pipeline.steps:
        if s.on_fail is not None:
            loop = loop_segment(steps, order, s.on_fail.retry_step, s.id)
            steps[s.id] = replace(steps[s.id], loop=loop)
    direct = frozenset(s.id for s in steps.values() if s.direct_start)
    return Plan(
        pipeline,
        compiled,
        MappingProxyType(steps),
        order,
        direct,
        frozenset(s.id for s in steps.values() if s.for_each and not s.cache),
        frozenset(s.loop[0] for s in steps.values() if s.loop),
        frozenset(order) - direct,
    )


def loop_segment(
    steps: Mapping[str, PlannedStep], order: tuple[str, ...], start: str, end: str
) -> tuple[str, ...]:
    """The steps on some path from ``start`` to ``end`` (both included), in ``order``."""
    below: set[str] = set()
    frontier = [start]
    while frontier:
        for d in steps[frontier.pop()].dependents:
            if d not in below:
                below.add(d)
                frontier.append(d)
    above: set[str] = set()
    frontier = [end]
    while frontier:
        for n in steps[frontier.pop()].needs:
            if n not in above:
                above.add(n)
                frontier.append(n)
    members = (below & above) | {start, end}
    return tuple(sid for sid in order if sid in members)
