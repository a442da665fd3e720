"""Where an llm step's ``schema:`` comes from: inline, a JSON file, or a pydantic model.

- a mapping: the JSON Schema itself;
- ``"schemas/plan.json"`` (ends in ``.json``): a file, relative to the pipeline's directory;
- ``"pkg.mod:Model"``: a pydantic model, imported like a python step's function
  (from the pipeline's directory, then ``PYTHONPATH``); its ``model_json_schema()``.

Whatever the source, the resolved schema (not its name) is part of the cache key,
so editing the file or the model invalidates cached replies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runwright.errors import FatalStepError


def resolve_schema(value: Any, pipeline_dir: Path, *, where: str) -> Mapping[str, Any] | None:
    """The JSON Schema ``with.schema`` names, or ``None`` when it names none."""
    if value is None or isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or not value.strip():
        raise FatalStepError(
            f"{where}: with.schema must be a JSON Schema mapping, a .json file or "
            f"'package.module:Model', not {value!r}"
        )
    if value.endswith(".json"):
        return _from_file(value, pipeline_dir, where)
    if ":" in value:
        return _from_model(value, pipeline_dir, where)
    raise FatalStepError(
        f"{where}: with.schema {value!r} is neither a .json file nor 'package.module:Model'"
    )


def _from_file(name: str, pipeline_dir: Path, where: str) -> Mapping[str, Any]:
    path = Path(name)
    if not path.is_absolute():
        path = pipeline_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FatalStepError(
            f"{where}: with.schema names {path}, which cannot be read ({exc.strerror or exc}); "
            "paths are relative to the pipeline file's directory"
        ) from None
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise FatalStepError(f"{where}: with.schema file {path} is not valid JSON: {exc}") from None
    if not isinstance(schema, Mapping):
        raise FatalStepError(f"{where}: with.schema file {path} must hold a JSON object")
    return schema


def _from_model(spec: str, pipeline_dir: Path, where: str) -> Mapping[str, Any]:
    from runwright.steps.python import resolve

    target = resolve(spec, pipeline_dir, step_id=where.removeprefix("step '").rstrip("'"))
    build = getattr(target.func, "model_json_schema", None)
    if not callable(build):
        raise FatalStepError(
            f"{where}: with.schema '{spec}' is not a pydantic model (it has no "
            "model_json_schema()); name a pydantic.BaseModel subclass"
        )
    schema = build()
    if not isinstance(schema, Mapping):
        raise FatalStepError(f"{where}: '{spec}'.model_json_schema() did not return a mapping")
    return schema
