"""What keeps a large spec small in memory, with what it loads unchanged.

Steps become models while the file is read (``compose(finish=...)``), steps setting
the same fields share one fields-set, and steps without templates keep nothing
compiled. None of it may change what a spec means or hashes to.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from runwright.spec import parse_spec
from runwright.spec.models import Pipeline, StepSpec
from runwright.spec.yamlsrc import FieldPath, compose

MIXED = """
name: mixed
steps:
  - {id: a, uses: shell, with: {run: "echo a"}}
  - {id: b, uses: shell, needs: a, with: {run: "echo b"}}
  - {id: c, uses: shell, needs: a, with: {run: "echo {{ steps.a.output }}"}}
  - {id: d, uses: shell, needs: [b], if: false, with: {run: "echo d"}}
"""


def test_finish_replaces_each_value_as_it_is_complete() -> None:
    seen: list[FieldPath] = []

    def finish(path: FieldPath, value: Any) -> Any:
        seen.append(path)
        return {"len": len(value)} if path == ("b",) else value

    doc = compose("a: {x: 1}\nb: [1, 2, 3]\nc: [{y: 2}]\n", positions=False, finish=finish)
    assert doc.data == {"a": {"x": 1}, "b": {"len": 3}, "c": [{"y": 2}]}
    # Children before their parents, the document last.
    assert seen == [("a",), ("b",), ("c", 0), ("c",), ()]


def test_steps_read_as_models_load_and_hash_as_a_whole_validation_does() -> None:
    loaded = parse_spec(MIXED)
    assert all(type(s) is StepSpec for s in loaded.pipeline.steps)
    raw = compose(MIXED).data  # no finish: plain values, validated as one document
    whole = Pipeline.model_validate(raw)
    assert loaded.pipeline == whole
    assert [s.model_fields_set for s in loaded.pipeline.steps] == [
        s.model_fields_set for s in whole.steps
    ]


def test_steps_share_a_fields_set_but_a_copy_does_not_change_the_others() -> None:
    a, b, c, d = parse_spec(MIXED).pipeline.steps
    assert b.model_fields_set is c.model_fields_set  # id, uses, needs, with
    assert a.model_fields_set == {"id", "uses", "with_"}
    assert d.model_fields_set == {"id", "uses", "needs", "if_", "with_"}
    named = b.model_copy(update={"name": "B"})
    assert "name" in named.model_fields_set
    assert "name" not in c.model_fields_set and "name" not in b.model_fields_set


def test_steps_without_templates_render_from_their_spec() -> None:
    loaded = parse_spec(MIXED)
    compiled = loaded.compile()
    context = {"inputs": {}, "steps": {"a": {"output": "A", "status": "succeeded"}}, "env": {}}
    assert compiled.render_with("a", context) == {"run": "echo a"}
    assert compiled.render_with("c", context) == {"run": "echo A"}
    assert compiled.references("b") == frozenset() and compiled.references("c") == {"a"}
    assert compiled.evaluate_if("b", context) is True
    assert compiled.evaluate_if("d", context) is False
    assert not compiled.uses_env("a") and compiled.render_cache_key("a", context) is None
    # The rendered dict is new: changing it leaves the spec as it was.
    compiled.render_with("a", context)["run"] = "changed"
    assert loaded.pipeline.step("a").with_ == {"run": "echo a"}


def test_a_with_mapping_is_kept_as_read_and_still_validated() -> None:
    shared = """
name: alias
steps:
  - {id: a, uses: shell, with: &w {run: "echo {{ inputs.x }}"}}
  - {id: b, uses: shell, with: *w}
inputs: {x: {type: string, default: X}}
"""
    loaded = parse_spec(shared)
    a, b = loaded.pipeline.steps
    assert a.with_ is b.with_  # one mapping, read once: nothing copies it per step
    context = {"inputs": {"x": "X"}, "steps": {}, "env": {}}
    rendered = loaded.compile().render_with("a", context)
    rendered["run"] = "changed"
    assert loaded.compile().render_with("b", context) == {"run": "echo X"}
    # Built in Python, keys are checked as before: a mapping with other keys is refused.
    with pytest.raises(ValidationError, match="with"):
        StepSpec.model_validate({"id": "a", "uses": "shell", "with": {1: "x"}})
    with pytest.raises(ValidationError, match="with"):
        StepSpec.model_validate({"id": "a", "uses": "shell", "with": ["run"]})
