"""Load a pipeline file: YAML → validated :class:`Pipeline`, with positions and a hash.

Every problem of a file is collected and raised together as one
:class:`~runwright.errors.SpecError`; no other exception escapes, whatever the text.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from runwright.spec.expressions import CompiledPipeline
from runwright.spec.models import Pipeline, StepSpec
from runwright.spec.problems import (
    LocatedProblem,
    Problem,
    describe_value,
    from_validation_error,
    locate_problems,
    spec_error,
)
from runwright.spec.validate import KindSchema, check_pipeline, check_steps
from runwright.spec.yamlsrc import FieldPath, SourceMap, YamlSyntaxError, compose

__all__ = ["KindSchema", "LoadedSpec", "load_spec", "parse_spec", "spec_hash"]

#: File name used in problem locations for specs that were not read from a file.
STRING_NAME = "<string>"


def spec_hash(pipeline: Pipeline) -> str:
    """sha256 hex of the canonical JSON of the pipeline as written (``exclude_unset``).

    Canonical JSON (sorted keys, no whitespace) of the validated model, so
    comments, formatting, key order and ``30s`` vs ``30`` do not change it; and
    only fields the spec sets, so adding a model field later does not change the
    hash of every existing spec (which would make every run look changed).

    The text is hashed as it is written, one step at a time: a 10,000-step
    pipeline never exists twice more in memory as a dump and its JSON.
    """
    digest = hashlib.sha256()
    top = pipeline.model_dump(by_alias=True, mode="json", exclude_unset=True, exclude={"steps"})
    for i, key in enumerate(sorted([*top, "steps"])):
        digest.update(f"{',' if i else '{'}{_canonical(key)}:".encode())
        if key != "steps":
            digest.update(_canonical(top[key]).encode("utf-8", "surrogatepass"))
            continue
        for j, step in enumerate(pipeline.steps):
            data = step.model_dump(by_alias=True, mode="json", exclude_unset=True)
            digest.update(f"{',' if j else '['}{_canonical(data)}".encode("utf-8", "surrogatepass"))
        digest.update(b"]")
    digest.update(b"}")
    return digest.hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class LoadedSpec:
    """A validated pipeline together with its source text, file and hash."""

    pipeline: Pipeline
    source: str
    path: Path | None
    spec_hash: str

    @functools.cached_property
    def source_map(self) -> SourceMap:
        """Where each value is in the source, read again when first asked (errors only)."""
        try:
            return compose(self.source).source_map
        except YamlSyntaxError:
            return SourceMap()

    @property
    def filename(self) -> str:
        """The name problems are reported under (``<string>`` without a file)."""
        return str(self.path) if self.path is not None else STRING_NAME

    def compile(self) -> CompiledPipeline:
        """The pipeline's templates compiled, their errors located in this file."""
        return CompiledPipeline(self.pipeline, locate=lambda path: self.location(*path))

    def location(self, *field_path: str | int) -> str:
        """``"file:line:col"`` of e.g. ``("steps", 2, "with", "run")``.

        Falls back to the nearest parent that exists in the file.
        """
        mark = self.source_map.value(tuple(field_path))
        return f"{self.filename}:{mark.line}:{mark.column}"


def load_spec(path: str | Path, *, kinds: Mapping[str, KindSchema] | None = None) -> LoadedSpec:
    """Read, parse and validate a pipeline file; raise :class:`SpecError` listing every problem."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        message = f"cannot read the file ({reason}); check the path"
        raise spec_error([LocatedProblem(str(file), 1, 1, "pipeline", message)]) from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate a BOM, as editors on Windows write one
    except UnicodeDecodeError as exc:
        message = f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        raise spec_error([LocatedProblem(str(file), 1, 1, "pipeline", message)]) from None
    return parse_spec(text, path=file, kinds=kinds)


def parse_spec(
    text: str,
    *,
    path: str | Path | None = None,
    kinds: Mapping[str, KindSchema] | None = None,
) -> LoadedSpec:
    """Parse and validate pipeline YAML; raise :class:`SpecError` listing every problem.

    With ``kinds``, ``uses`` must name one of them and ``with:`` keys are checked
    against each kind's ``accepts``/``requires``; without, kinds are not checked.
    """
    file = Path(path) if path is not None else None
    filename = str(file) if file is not None else STRING_NAME
    try:
        # Without positions: they are only needed to say where problems are.
        document = compose(text, positions=False, finish=_step_model)
    except YamlSyntaxError as exc:
        problem = Problem((), exc.message, mark=exc.mark)
        raise spec_error(locate_problems([problem], SourceMap(), filename)) from None
    problems: list[Problem] = []
    pipeline = None if document.problems else _validate(document.data, problems, kinds)
    if document.problems or problems or pipeline is None:
        # The second pass, with positions, finds the same problems and says where.
        document = compose(text)
        problems = [Problem(p, message, mark=mark) for p, mark, message in document.problems]
        _validate(document.data, problems, kinds)
        raise spec_error(locate_problems(problems, document.source_map, filename))
    del document  # the raw values, dead once validated: not alive while the hash is computed
    return LoadedSpec(pipeline, text, file, spec_hash(pipeline))


def _validate(
    data: Any, problems: list[Problem], kinds: Mapping[str, KindSchema] | None
) -> Pipeline | None:
    if data is None:
        problems.append(
            Problem((), "the file is empty; a pipeline needs at least name: and steps:")
        )
        return None
    if not isinstance(data, dict):
        problems.append(
            Problem(
                (),
                f"expected a mapping with name: and steps:, got {describe_value(data)}; "
                "write the pipeline as key: value lines",
            )
        )
        return None
    try:
        pipeline = Pipeline.model_validate(data)
    except ValidationError as exc:
        problems.extend(from_validation_error(exc, data, model=Pipeline))
        # Keep checking what can be checked, so one typo does not hide the other problems.
        problems.extend(_check_partial(data, kinds))
        return None
    problems.extend(check_pipeline(pipeline, kinds=kinds))
    return pipeline


def _step_model(path: FieldPath, value: Any) -> Any:
    """Each step as its model as soon as it is read, so that its raw values are freed at once.

    A 10,000-step load then peaks at the models plus one raw step, not at both in
    full. Only on the first pass: an invalid step stays raw for the whole document's
    validation to fail on, and the second pass validates fresh values to report every
    problem and where it is.
    """
    if len(path) != 2 or path[0] != "steps" or not isinstance(value, dict):
        return value
    try:
        return StepSpec.model_validate(value)
    except ValidationError:
        return value


def _check_partial(data: dict[str, Any], kinds: Mapping[str, KindSchema] | None) -> list[Problem]:
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list):
        return []
    valid = [(i, step) for i, raw in enumerate(raw_steps) if (step := _salvage(raw)) is not None]
    all_ids = {
        raw["id"] for raw in raw_steps if isinstance(raw, dict) and isinstance(raw.get("id"), str)
    }
    raw_inputs = data.get("inputs", {})
    input_names = frozenset(raw_inputs) if isinstance(raw_inputs, dict) else None
    return check_steps(valid, all_ids=all_ids, input_names=input_names, kinds=kinds)


def _salvage(raw: Any) -> StepSpec | None:
    """The step without its invalid fields (already reported), to check the rest of it."""
    if not isinstance(raw, dict):
        return None
    try:
        return StepSpec.model_validate(raw)
    except ValidationError as exc:
        bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
    if not bad or bad & {"id", "uses"}:
        return None  # nothing to drop, or the step cannot exist without the field
    try:
        return StepSpec.model_validate({k: v for k, v in raw.items() if k not in bad})
    except ValidationError:
        return None
