"""What changed between two versions of a pipeline (shown when resuming a run)."""

from __future__ import annotations

from typing import Any

from runwright.spec.models import Pipeline
from runwright.spec.problems import field_label

# Step fields whose sub-keys are worth naming ("with.run", not just "with").
_NESTED = frozenset({"with", "retry", "cache"})
_TOP_FIELDS = ("name", "description", "version")


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changed: list[str] = []
    for key in dict.fromkeys([*old, *new]):  # model field order, then anything extra
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key in _NESTED and isinstance(before, dict) and isinstance(after, dict):
            changed.extend(
                field_label((key, sub))
                for sub in dict.fromkeys([*before, *after])
                if before.get(sub) != after.get(sub)
            )
        else:
            changed.append(key)
    return changed


def diff_specs(old: Pipeline, new: Pipeline) -> list[str]:
    """Human-readable differences, e.g. ``"step 'a' changed: with.run, needs"``; ``[]`` if equal.

    Lines come in a stable order: pipeline fields, inputs, defaults, then steps
    (added and changed in the new order, removed in the old order).
    """
    a = old.model_dump(by_alias=True, mode="json")
    b = new.model_dump(by_alias=True, mode="json")
    lines = [f"{name} changed" for name in _TOP_FIELDS if a.get(name) != b.get(name)]
    inputs = [
        name
        for name in dict.fromkeys([*a["inputs"], *b["inputs"]])
        if a["inputs"].get(name) != b["inputs"].get(name)
    ]
    if inputs:
        lines.append(f"inputs changed: {', '.join(inputs)}")
    if a["defaults"] != b["defaults"]:
        lines.append("defaults changed")
    old_steps = {s["id"]: s for s in a["steps"]}
    new_steps = {s["id"]: s for s in b["steps"]}
    step_lines: list[str] = []
    for sid, step in new_steps.items():
        if sid not in old_steps:
            step_lines.append(f"step {sid!r} added")
        else:
            fields = _changed_fields(old_steps[sid], step)
            if fields:
                step_lines.append(f"step {sid!r} changed: {', '.join(fields)}")
    step_lines.extend(f"step {sid!r} removed" for sid in old_steps if sid not in new_steps)
    if not step_lines:
        # Order alone changes the spec hash, so it must be named too.
        common_old = [sid for sid in old_steps if sid in new_steps]
        common_new = [sid for sid in new_steps if sid in old_steps]
        if common_old != common_new:
            step_lines.append("step order changed")
    return lines + step_lines
