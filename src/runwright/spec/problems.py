"""Spec problems: one located line each, and pydantic errors translated into them.

Every problem reads ``<file>:<line>:<col>: <field path>: <what is wrong>; <what to do>``.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sized
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from runwright.errors import SpecError
from runwright.spec.suggest import one_of, suggest
from runwright.spec.yamlsrc import FieldPath, Mark, SourceMap

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# What a pydantic type error expected, in words.
_EXPECTED = {
    "string_type": "a string",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a spec, before it is given a file position."""

    #: Where it is: the value (or, with ``at_key``, the mapping key) at this path.
    path: FieldPath
    #: ``"<what is wrong>; <what to do>"``.
    message: str
    at_key: bool = False
    #: The field path shown to the user, when it differs from ``path``.
    label: FieldPath | None = None
    #: An exact position, overriding ``path`` (YAML syntax errors).
    mark: Mark | None = None


def field_label(path: FieldPath) -> str:
    """``("steps", 1, "needs")`` → ``steps[1].needs``; ``()`` → ``pipeline``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "pipeline"


@dataclass(frozen=True, slots=True)
class LocatedProblem:
    """A problem with its place in a file: what ``validate --json`` prints."""

    file: str
    line: int
    column: int
    #: The field, e.g. ``steps[1].needs`` (``pipeline`` for the whole file).
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """``{file, line, column, path, message}``."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }


_LINE = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<column>\d+): (?P<path>\S+): (?P<message>.*)$")


def locate_problems(
    problems: list[Problem], source_map: SourceMap, filename: str
) -> list[LocatedProblem]:
    """Problems given their file positions: sorted by position, de-duplicated."""
    located: dict[LocatedProblem, None] = {}
    for p in problems:
        mark = p.mark or (source_map.key(p.path) if p.at_key else source_map.value(p.path))
        label = field_label(p.path if p.label is None else p.label)
        # One problem, one line, even when a message quotes multi-line text.
        message = " ".join(p.message.splitlines())
        located.setdefault(LocatedProblem(filename, mark.line, mark.column, label, message))
    return sorted(located, key=lambda lp: (lp.line, lp.column))


def spec_error(located: list[LocatedProblem]) -> SpecError:
    """The SpecError listing ``located`` (as lines, and structured in ``fields["located"]``)."""
    return SpecError(problems=[str(lp) for lp in located], located=located)


def problems_of(exc: SpecError) -> list[LocatedProblem]:
    """The located problems of a SpecError, also of one raised with problem lines only."""
    located = exc.fields.get("located")
    if isinstance(located, list):
        return located
    out: list[LocatedProblem] = []
    for line in exc.problems or [exc.message]:
        m = _LINE.match(line)
        if m is None:
            out.append(LocatedProblem("", 0, 0, "pipeline", line))
        else:
            row = (int(m["line"]), int(m["column"]))
            out.append(LocatedProblem(m["file"], *row, m["path"], m["message"]))
    return out


def describe_value(value: Any) -> str:
    """A short, YAML-flavoured rendering of a value for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _unwrap(tp: Any) -> Any:
    """``RetryPolicy | None`` → ``RetryPolicy`` (a model in a union, else its first type)."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        # `bool | CacheSpec`: the model is the branch whose keys can be listed.
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if models or args:
            return _unwrap((models or args)[0])
    return tp


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` (for listing its keys)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {(f.alias or n): f for n, f in tp.model_fields.items()}
            field = fields.get(str(part)) or tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        elif origin in (list, tuple):
            tp = typing.get_args(tp)[0]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _existing(data: Any, loc: tuple[str | int, ...]) -> FieldPath:
    """The longest prefix of ``loc`` present in ``data`` (the rest names union branches)."""
    cur, depth = data, 0
    for part in loc:
        in_map = isinstance(cur, dict) and isinstance(part, str) and part in cur
        in_list = isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        if not (in_map or in_list):
            break
        cur = cur[part]
        depth += 1
    return loc[:depth]


def _message(errors: list[ErrorDetails], at: FieldPath) -> str:
    first = errors[0]
    got = describe_value(first.get("input"))
    expected = [_EXPECTED[e["type"]] for e in errors if e["type"] in _EXPECTED]
    if len(expected) == len(errors):  # type errors, possibly one per union branch
        words = " or ".join(dict.fromkeys(expected))
        if at and at[-1] == "retry":
            return f"expected a mapping or a number of attempts, got {got}; write retry: 3"
        return f"expected {words}, got {got}; change the value"
    kind, ctx = first["type"], first.get("ctx") or {}
    if kind == "value_error":
        text = str(ctx.get("error", first["msg"]))
        return text if "; " in text else f"{text}; fix the value"
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = suggest(str(first.get("input")), allowed, fallback=f"use {one_of(allowed)}")
        return f"{got} is not one of {one_of(allowed)}; {hint}"
    if kind == "string_pattern_mismatch" and at and at[-1] == "id":
        return (
            f"step id {got} is not valid; use letters, digits, '_' and '-', "
            "starting with a letter or '_'"
        )
    if kind == "too_short" and at == ("steps",):
        return "a pipeline needs at least one step; add one under steps:"
    text = "; ".join(dict.fromkeys(e["msg"] for e in errors)).replace("Input should be", "must be")
    return f"{text}, got {got}; change the value"


def from_validation_error(
    exc: ValidationError,
    data: Any,
    *,
    model: type[BaseModel],
    prefix: FieldPath = (),
) -> list[Problem]:
    """Translate pydantic's errors for ``model.model_validate(data)`` into problems."""
    problems: list[Problem] = []
    groups: dict[FieldPath, list[ErrorDetails]] = {}
    # Where a mapping was checked key by key (`cache: {key: ..}` in `bool | CacheSpec`):
    # there, "expected a boolean, got a mapping" from another union branch is noise.
    keyed: set[FieldPath] = set()
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind in ("missing", "extra_forbidden"):
            # Drop union branch names (`cache.CacheSpec.ttl`): the data has no such key.
            loc = (*_existing(data, loc[:-1]), loc[-1])
            keyed.add(loc[:-1])
        if kind == "missing":
            parent = _existing(data, loc[:-1])
            name = loc[-1]
            problems.append(
                Problem(prefix + parent, f"missing required key {name!r}; add {name}: ...")
            )
        elif kind == "extra_forbidden":
            parent_model = _model_at(model, loc[:-1])
            names = (
                [f.alias or n for n, f in parent_model.model_fields.items()] if parent_model else []
            )
            hint = suggest(str(loc[-1]), names, fallback=f"use {one_of(names)}")
            problems.append(
                Problem(
                    prefix + loc,
                    f"unknown key {loc[-1]!r}; {hint}",
                    at_key=True,
                    label=prefix + loc[:-1],
                )
            )
        elif (
            kind == "too_short"
            and isinstance(err.get("input"), Sized)
            and len(err["input"]) >= int((err.get("ctx") or {}).get("min_length", 0))
        ):
            continue  # items were given but each failed; those errors are reported instead
        else:
            groups.setdefault(_existing(data, loc), []).append(err)
    for at, errors in groups.items():
        if at in keyed and all(isinstance(e.get("input"), dict) for e in errors):
            continue
        problems.append(Problem(prefix + at, _message(errors, at)))
    return problems
