"""Run inputs: apply defaults, coerce command-line strings, check declared types."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from runwright.errors import InputError
from runwright.spec.models import InputType, Pipeline
from runwright.spec.suggest import suggest

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_JSON_KIND = {"array": list, "object": dict}
_A = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "an array",
    "object": "an object",
}


def check_type(value: Any, type_: InputType) -> bool:
    """Whether ``value`` is a JSON value of the declared input type."""
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_ == "array":
        return isinstance(value, list | tuple)
    return isinstance(value, dict)


def _coerce(text: str, type_: InputType) -> Any:
    """Turn a ``--input name=text`` string into a value of ``type_``; raise ValueError."""
    stripped = text.strip()
    if type_ == "string":
        if stripped[:1] in ("[", "{") and isinstance(_json_or_none(stripped), list | dict):
            # Almost always meant as a list or mapping (the input's type is wrong), and
            # a step would otherwise get the text '["a"]' where it expects a value.
            kind = "array" if stripped[0] == "[" else "object"
            raise ValueError(
                f"got a JSON {kind}; pass text, or declare the input as type {kind} "
                "(to pass this exact text, give it as a JSON string in --inputs FILE)"
            )
        return text
    if type_ == "boolean":
        folded = stripped.lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        raise ValueError("use true/false, yes/no or 1/0")
    if type_ == "integer":
        try:
            return int(stripped)
        except ValueError:
            raise ValueError("use a whole number such as 3") from None
    if type_ == "number":
        try:
            return int(stripped)
        except ValueError:
            pass
        try:
            number = float(stripped)
        except ValueError:
            raise ValueError("use a number such as 2.5") from None
        if not math.isfinite(number):
            raise ValueError("use a finite number")
        return number
    example = "[1, 2]" if type_ == "array" else '{"key": "value"}'
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        raise ValueError(f"use JSON such as {example}") from None
    if not isinstance(value, _JSON_KIND[type_]):
        raise ValueError(f"use JSON such as {example}")
    return value


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def resolve_inputs(
    pipeline: Pipeline, given: Mapping[str, Any], *, strings: bool = False
) -> dict[str, Any]:
    """The inputs of a run: given values checked against the declarations, defaults applied.

    With ``strings=True`` (values from ``--input key=value``) string values are
    first converted to the declared type: numbers parsed, ``true/false/yes/no/1/0``
    for booleans, JSON for arrays and objects. Every declared input is in the
    result; an optional input without a default is ``None``. All problems are
    reported together in one :class:`~runwright.errors.InputError`.
    """
    declared = pipeline.inputs
    problems: list[str] = []
    resolved: dict[str, Any] = {}
    for name in given:
        if name not in declared:
            hint = suggest(name, declared, fallback="the pipeline declares no such input")
            if not declared:
                hint = "the pipeline declares no inputs"
            problems.append(f"unknown input {name!r}; {hint}")
    for name, spec in declared.items():
        if name not in given:
            if spec.is_required:
                problems.append(f"input {name!r} is required; pass --input {name}=...")
            else:
                # Copied so a run can never alter the spec's own default.
                resolved[name] = copy.deepcopy(spec.default)
            continue
        value = given[name]
        if strings and isinstance(value, str):
            try:
                value = _coerce(value, spec.type)
            except ValueError as exc:
                problems.append(f"input {name!r} must be of type {spec.type}; {exc}")
                continue
        if not check_type(value, spec.type):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            problems.append(
                f"input {name!r} must be of type {spec.type}, got {type(value).__name__} "
                f"{shown}; pass {_A[spec.type]}"
            )
            continue
        resolved[name] = list(value) if isinstance(value, tuple) else value
    if problems:
        raise InputError("\n".join(problems), problems=problems)
    return resolved


def parse_input_args(pairs: Sequence[str]) -> dict[str, str]:
    """``["task=fix it", "n=3"]`` → ``{"task": "fix it", "n": "3"}`` (split at the first ``=``)."""
    result: dict[str, str] = {}
    problems: list[str] = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            problems.append(f"--input {pair!r} is not key=value; write it as --input name=value")
        elif name in result:
            problems.append(f"input {name!r} is given twice; pass it once")
        else:
            result[name] = value
    if problems:
        raise InputError("\n".join(problems), problems=problems)
    return result
