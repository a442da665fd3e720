"""Reading what steps produced: committed outputs (blobs resolved) and export rows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from runwright.errors import NotFoundError
from runwright.spec.suggest import did_you_mean, one_of
from runwright.store.base import Store
from runwright.store.records import NO_ITEM, AttemptRecord, OutputRef, RunRecord

#: Characters of an output's compact JSON that `show` quotes.
SUMMARY_CHARS = 60


@dataclass(frozen=True, slots=True)
class StepRef:
    """A step of a run, checked to exist, with its current attempts."""

    run: RunRecord
    step_id: str
    attempts: list[AttemptRecord]

    @property
    def node(self) -> AttemptRecord | None:
        return next((a for a in self.attempts if a.item == NO_ITEM), None)

    @property
    def items(self) -> list[int]:
        return sorted({a.item for a in self.attempts if a.item != NO_ITEM})


async def find_step(store: Store, run_id: str, step_id: str) -> StepRef:
    """The run's step ``step_id``, or :class:`NotFoundError` with a did-you-mean."""
    run = await store.get_run(run_id)
    current = await store.attempts(run.id, include_superseded=False)
    known = list(dict.fromkeys(a.step_id for a in current))
    if step_id not in known:
        raise NotFoundError(
            f"run {run.id} has no step {step_id!r}{did_you_mean(step_id, known)} "
            f"(its steps: {one_of(known)})"
        )
    return StepRef(run, step_id, [a for a in current if a.step_id == step_id])


def _check_item(ref: StepRef, item: int) -> None:
    items = ref.items
    if item in items:
        return
    where = f"step {ref.step_id!r} of run {ref.run.id}"
    if not items:
        node = ref.node
        if node is not None and node.state.finished:
            raise NotFoundError(f"{where} is not a for_each step; leave out --item")
        raise NotFoundError(f"{where} has no items yet (it is {node.state if node else 'pending'})")
    raise NotFoundError(f"{where} has no item {item}; its items are {items[0]}..{items[-1]}")


async def step_output(store: Store, run_id: str, step_id: str, item: int | None = None) -> Any:
    """A step's committed output (blobs resolved); for_each items with ``item``.

    A for_each step without ``item`` gives the list of its item outputs (None for
    items that have not finished), even before the step as a whole has.
    """
    ref = await find_step(store, run_id, step_id)
    if item is not None:
        _check_item(ref, item)
    key = NO_ITEM if item is None else item
    async with store.transaction() as tx:
        found = await tx.outputs(ref.run.id, [(step_id, key)])
        if (step_id, key) in found:
            return found[(step_id, key)]
        if item is None and ref.items:
            return await tx.item_outputs(ref.run.id, step_id)
    state = next((a.state for a in ref.attempts if a.item == key), None)
    what = f"item {item} of step {step_id!r}" if item is not None else f"step {step_id!r}"
    raise NotFoundError(
        f"{what} of run {ref.run.id} has no output (it is {state or 'pending'}); "
        f"`runwright logs {ref.run.id} {step_id}` shows what it printed"
    )


def summary(value: Any) -> str:
    """A one-line preview of an output: its compact JSON, cut with an ellipsis."""
    if isinstance(value, list):
        text = f"[{len(value)} items]" if len(value) != 1 else "[1 item]"
    elif isinstance(value, dict) and "exit_code" in value and "stdout" in value:
        first = str(value.get("stdout") or "").strip().splitlines()
        text = f"exit {value['exit_code']}" + (f": {first[0]}" if first else "")
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


async def output_summaries(store: Store, run_id: str) -> dict[str, str]:
    """Step id -> a short preview of its output (big outputs by size, not loaded)."""
    previews: dict[str, str] = {}
    for ref in await store.output_refs(run_id, nodes_only=True):
        if ref.inline_json is None:
            previews[ref.step_id] = f"({_size(ref.size)} of JSON; `runwright output`)"
        else:
            previews[ref.step_id] = summary(json.loads(ref.inline_json))
    return previews


def _size(n: int) -> str:
    for unit, step in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= step:
            return f"{n / step:.1f} {unit}"
    return f"{n} B"


async def output_rows(store: Store, run_id: str, *, inline: bool) -> AsyncIterator[dict[str, Any]]:
    """Export rows for a run's outputs: by reference (blob id, size), or with the value."""
    async for ref in _all_refs(store, run_id):
        row: dict[str, Any] = {"type": "output", **ref.to_json()}
        if inline:
            row["value"] = (
                json.loads(ref.inline_json)
                if ref.inline_json is not None
                else await store.output(run_id, ref.step_id, ref.item)
            )
        yield row


async def _all_refs(store: Store, run_id: str, page: int = 2000) -> AsyncIterator[OutputRef]:
    after: tuple[str, int] | None = None
    while batch := await store.output_refs(run_id, after=after, limit=page):
        for ref in batch:
            yield ref
        after = (batch[-1].step_id, batch[-1].item)
