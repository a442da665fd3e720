"""Run inputs: defaults, type checks, command-line coercion."""

from __future__ import annotations

from typing import Any

import pytest

from runwright.errors import InputError
from runwright.spec import parse_input_args, parse_spec, resolve_inputs

PIPELINE = parse_spec(
    """\
name: x
inputs:
  task: {type: string}
  n: {type: integer, default: 2}
  ratio: {type: number, default: 0.5}
  flag: {type: boolean, default: false}
  files: {type: array, default: [a]}
  opts: {type: object, default: {}}
  note: {required: false}
steps: [{id: a, uses: s}]
"""
).pipeline


def test_defaults_are_applied_and_copied() -> None:
    got = resolve_inputs(PIPELINE, {"task": "t"})
    assert got == {
        "task": "t",
        "n": 2,
        "ratio": 0.5,
        "flag": False,
        "files": ["a"],
        "opts": {},
        "note": None,
    }
    got["files"].append("b")
    assert resolve_inputs(PIPELINE, {"task": "t"})["files"] == ["a"]


def test_missing_required_input() -> None:
    with pytest.raises(InputError) as info:
        resolve_inputs(PIPELINE, {})
    assert str(info.value) == "input 'task' is required; pass --input task=..."


def test_unknown_input_with_did_you_mean() -> None:
    with pytest.raises(InputError) as info:
        resolve_inputs(PIPELINE, {"task": "t", "tsk": "x", "zzzzzz": 1})
    assert info.value.fields["problems"] == [
        "unknown input 'tsk'; did you mean 'task'?",
        "unknown input 'zzzzzz'; the pipeline declares no such input",
    ]


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("n", "42", 42),
        ("n", " -3 ", -3),
        ("ratio", "2", 2),
        ("ratio", "2.5", 2.5),
        ("flag", "true", True),
        ("flag", "YES", True),
        ("flag", "1", True),
        ("flag", "no", False),
        ("flag", "0", False),
        ("flag", "False", False),
        ("files", '["x", 1]', ["x", 1]),
        ("opts", '{"a": {"b": null}}', {"a": {"b": None}}),
        ("task", "  spaces kept  ", "  spaces kept  "),
        ("task", "[WIP] not JSON", "[WIP] not JSON"),
        ("task", "3", "3"),
    ],
)
def test_strings_are_coerced_to_the_declared_type(name: str, text: str, value: Any) -> None:
    given = {"task": "t", name: text}
    got = resolve_inputs(PIPELINE, given, strings=True)[name]
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize(
    ("name", "text", "fix"),
    [
        ("n", "4.5", "use a whole number"),
        ("ratio", "lots", "use a number"),
        ("ratio", "nan", "use a finite number"),
        ("flag", "maybe", "use true/false"),
        ("files", '{"a": 1}', "use JSON such as [1, 2]"),
        ("opts", "[1", "use JSON such as"),
        ("task", '["a"]', "got a JSON array; pass text, or declare the input as type array"),
        ("task", ' {"k": 1}', "got a JSON object; pass text, or declare the input as type object"),
    ],
)
def test_bad_strings_are_input_errors(name: str, text: str, fix: str) -> None:
    with pytest.raises(InputError) as info:
        resolve_inputs(PIPELINE, {"task": "t", name: text}, strings=True)
    assert str(info.value).startswith(f"input {name!r} must be of type ")
    assert fix in str(info.value)


def test_typed_values_among_strings_are_type_checked_not_turned_into_text() -> None:
    # `--inputs FILE` passes JSON values as they are, next to `-i` strings.
    with pytest.raises(InputError) as info:
        resolve_inputs(PIPELINE, {"task": ["a"], "n": "3"}, strings=True)
    assert info.value.fields["problems"] == [
        "input 'task' must be of type string, got list ['a']; pass a string"
    ]


def test_values_are_type_checked_without_coercion() -> None:
    with pytest.raises(InputError) as info:
        resolve_inputs(PIPELINE, {"task": 3, "n": "3", "flag": 1, "ratio": True})
    assert info.value.fields["problems"] == [
        "input 'task' must be of type string, got int 3; pass a string",
        "input 'n' must be of type integer, got str '3'; pass an integer",
        "input 'ratio' must be of type number, got bool True; pass a number",
        "input 'flag' must be of type boolean, got int 1; pass a boolean",
    ]


def test_parse_input_args() -> None:
    assert parse_input_args(["task=fix it = now", "n=3", "empty="]) == {
        "task": "fix it = now",
        "n": "3",
        "empty": "",
    }
    with pytest.raises(InputError, match="'novalue' is not key=value"):
        parse_input_args(["novalue"])
    with pytest.raises(InputError, match="given twice"):
        parse_input_args(["a=1", "a=2"])
