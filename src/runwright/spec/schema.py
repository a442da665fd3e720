"""A JSON Schema of the pipeline file, for editors (completion and squiggles).

Generated from the pydantic models, then widened where the models accept
shorthands through ``before`` validators that JSON Schema cannot see:
``retry: 3``, durations such as ``"10m"``, and ``needs: build`` for a one-item list.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from runwright.spec.models import Pipeline

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: What :func:`runwright.spec.durations.parse_duration` accepts as text.
DURATION_PATTERN = r"^\s*([0-9]+(\.[0-9]+)?|([0-9]+(\.[0-9]+)?(ms|s|m|h|d)\s*)+)\s*$"

_DURATION_FIELDS = ("timeout", "initial_delay", "max_delay")
_ONE_OR_MANY_FIELDS = ("needs", "labels")


def _nullable(prop: dict[str, Any]) -> bool:
    return any(option.get("type") == "null" for option in prop.get("anyOf", []))


def _replace(prop: dict[str, Any], options: list[dict[str, Any]]) -> dict[str, Any]:
    """Keep a property's title/description/default, replace what it accepts."""
    kept = {k: v for k, v in prop.items() if k in ("title", "description", "default")}
    if _nullable(prop):
        options = [*options, {"type": "null"}]
    return {**kept, "anyOf": options}


@functools.cache
def _build() -> dict[str, Any]:
    schema = Pipeline.model_json_schema(by_alias=True, mode="validation")
    duration: list[dict[str, Any]] = [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": DURATION_PATTERN},
    ]
    retry: list[dict[str, Any]] = [
        {"$ref": "#/$defs/RetryPolicy"},
        {"type": "integer", "minimum": 1, "maximum": 100, "description": "Total attempts."},
    ]
    models = [schema, *schema.get("$defs", {}).values()]
    for model in models:
        props: dict[str, Any] = model.get("properties", {})
        for name, prop in props.items():
            if name in _DURATION_FIELDS:
                props[name] = _replace(prop, duration)
            elif name == "retry":
                props[name] = _replace(prop, retry)
            elif name in _ONE_OR_MANY_FIELDS and prop.get("type") == "array":
                props[name] = _replace(
                    prop, [{"type": "string"}, {k: prop[k] for k in ("type", "items")}]
                )
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "runwright pipeline",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a pipeline file; a fresh copy on every call."""
    return copy.deepcopy(_build())
