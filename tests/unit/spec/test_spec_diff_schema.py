"""diff_specs, json_schema and the did-you-mean helper."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runwright.spec import Pipeline, diff_specs, json_schema, parse_spec
from runwright.spec.suggest import did_you_mean, suggest

GOOD = Path(__file__).parent / "fixtures" / "good.yaml"
BASE = """\
name: x
inputs: {task: {}, n: {type: integer, default: 1}}
defaults: {timeout: 10m}
steps:
  - {id: a, uses: shell, with: {run: make, env: {A: "1"}}}
  - {id: b, uses: shell, needs: [a]}
  - {id: c, uses: shell, needs: [a]}
"""


def pipeline(text: str) -> Pipeline:
    return parse_spec(textwrap.dedent(text)).pipeline


def test_no_changes() -> None:
    reformatted = BASE.replace("{run: make", "{ run: 'make'") + "# comment\n"
    assert diff_specs(pipeline(BASE), pipeline(reformatted)) == []


def test_changes_are_named() -> None:
    new = (
        BASE.replace("task: {}", "task: {type: string, description: what}")
        .replace("10m", "5m")
        .replace("{run: make,", "{run: make all,")
        .replace("needs: [a]}\n  - {id: c", "needs: [a]}\n  - {id: d")
        .replace("{id: a, uses: shell,", "{id: a, uses: shell, needs: [], timeout: 3,")
        .replace("name: x", "name: y")
    )
    new += "  - {id: e, uses: shell, needs: [d]}\n"
    assert diff_specs(pipeline(BASE), pipeline(new)) == [
        "name changed",
        "inputs changed: task",
        "defaults changed",
        "step 'a' changed: with.run, timeout",
        "step 'd' added",
        "step 'e' added",
        "step 'c' removed",
    ]


def test_nested_and_order_changes() -> None:
    old = pipeline(BASE)
    env_changed = pipeline(BASE.replace('A: "1"', 'A: "2"'))
    assert diff_specs(old, env_changed) == ["step 'a' changed: with.env"]
    needs_changed = pipeline(
        BASE.replace("{id: c, uses: shell, needs: [a]}", "{id: c, uses: shell, needs: [a, b]}")
    )
    assert diff_specs(old, needs_changed) == ["step 'c' changed: needs"]
    swapped = BASE.replace("  - {id: b, uses: shell, needs: [a]}\n", "")
    swapped += "  - {id: b, uses: shell, needs: [a]}\n"
    assert diff_specs(old, pipeline(swapped)) == ["step order changed"]


def test_json_schema_shape() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "runwright pipeline"
    step = schema["$defs"]["StepSpec"]["properties"]
    assert {"with", "if", "needs", "for_each"} <= step.keys()
    assert "with_" not in step
    assert json_schema() is not json_schema()  # callers may mutate their copy


def test_json_schema_validates_the_good_fixture_and_rejects_typos() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    validator = jsonschema.Draft202012Validator(json_schema())
    validator.check_schema(json_schema())
    good = yaml.safe_load(GOOD.read_text())
    assert list(validator.iter_errors(good)) == []
    short = {
        "name": "x",
        "steps": [
            {
                "id": "a",
                "uses": "s",
                "retry": 3,
                "timeout": "1h30m",
                "needs": "b",
            }
        ],
    }
    assert list(validator.iter_errors(short)) == []
    for bad in (
        {"name": "x", "steps": [{"id": "a", "uses": "s", "neds": []}]},
        {"name": "x", "steps": [{"id": "a", "uses": "s", "timeout": "soon"}]},
        {"name": "x", "steps": [{"id": "a", "uses": "s", "retry": 0}]},
        {"name": "x", "steps": []},
        {"steps": [{"id": "a", "uses": "s"}]},
        {"name": "x", "trust": "trainee", "steps": [{"id": "a", "uses": "s"}]},
        {"name": "x", "budget": {"usd": -5}, "steps": [{"id": "a", "uses": "s"}]},
        {"name": "x", "budget": {"eur": 5}, "steps": [{"id": "a", "uses": "s"}]},
        {"name": "x", "steps": [{"id": "a", "uses": "s", "trust": "root"}]},
        {"name": "x", "steps": [{"id": "a", "uses": "s", "on_violation": "ignore"}]},
    ):
        assert list(validator.iter_errors(bad)), bad


def test_suggestions() -> None:
    assert did_you_mean("biuld", ["build", "test"]) == "; did you mean 'build'?"
    assert did_you_mean("zzz", ["build", "test"]) == ""
    assert suggest("Build", ["build"]) == "did you mean 'build'?"
    assert suggest("zzz", ["b", "a"]) == "use 'a' or 'b'"
    assert suggest("zzz", []) == "there is nothing to refer to"
    assert suggest("zzz", ["a"], fallback="declare it") == "declare it"
