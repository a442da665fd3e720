"""Structured replies: find the JSON in a reply and check it against the schema.

jsonschema is the optional extra ``runwright[llm]``: imported only when a step
gives a schema, and a missing install is a clear error, not an ImportError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from runwright.errors import ConfigError, FatalStepError

_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)\n?```", re.S)
#: How much of an invalid reply an error message quotes.
QUOTE = 600


class InvalidReply(Exception):
    """The reply is not JSON, or not JSON the schema allows; ``problem`` says why."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def check_schema(schema: Any, *, where: str) -> Mapping[str, Any]:
    """``schema`` if it is a valid JSON Schema (an error naming ``where`` otherwise)."""
    if not isinstance(schema, Mapping):
        raise FatalStepError(f"{where}: with.schema must be a JSON Schema mapping")
    validator = _validator_class(schema)
    try:
        validator.check_schema(schema)
    except Exception as exc:  # jsonschema.SchemaError; message is the useful part
        raise FatalStepError(
            f"{where}: with.schema is not a valid JSON Schema: {getattr(exc, 'message', exc)}"
        ) from None
    return schema


def parse_reply(text: str, schema: Mapping[str, Any] | None) -> Any:
    """The JSON value in ``text`` (bare or in a fenced block), valid against ``schema``."""
    candidate = text.strip()
    try:
        value = json.loads(candidate)
    except ValueError:
        fenced = _FENCE.search(candidate)
        try:
            value = json.loads(fenced.group(1)) if fenced else json.loads(candidate)
        except ValueError as exc:
            raise InvalidReply(f"the reply is not valid JSON ({exc})") from None
    if schema is not None:
        validator = _validator_class(schema)(schema)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            path = "".join(f"[{p!r}]" for p in first.absolute_path) or "the top level"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise InvalidReply(f"at {path}: {first.message}{more}")
    return value


def reask_message(problem: str) -> str:
    """What the model is told after an invalid reply."""
    return (
        f"Your reply was not valid: {problem}. Reply again with only the corrected JSON, "
        "no explanations and no code fences."
    )


def quote(text: str) -> str:
    return text if len(text) <= QUOTE else text[:QUOTE] + f"… ({len(text)} characters)"


def _validator_class(schema: Mapping[str, Any]) -> Any:
    """The validator the schema's ``$schema`` names (Draft 2020-12 when it names none)."""
    try:
        import jsonschema
    except ImportError:
        raise ConfigError(
            "validating LLM replies against a schema needs jsonschema: pip install 'runwright[llm]'"
        ) from None
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
