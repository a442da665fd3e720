"""Working with pipeline files: validate, graph, schema, scaffold."""

from __future__ import annotations

import shlex
from importlib import resources
from pathlib import Path
from typing import Any

from runwright.errors import SpecError, UsageError
from runwright.registry import Registry, default_registry
from runwright.spec.loader import LoadedSpec, load_spec
from runwright.spec.models import Pipeline
from runwright.spec.problems import problems_of

#: Files `runwright init` writes: (template name, file name).
INIT_FILES = (("pipeline.yaml", "pipeline.yaml"), ("report_steps.py", "report_steps.py"))


def validate(path: str | Path, *, registry: Registry | None = None) -> LoadedSpec:
    """Load a pipeline and check it completely; raises :class:`SpecError` with every problem."""
    return load_spec(path, kinds=(registry or default_registry()).kinds())


def validation_report(path: str | Path, *, registry: Registry | None = None) -> dict[str, Any]:
    """What ``validate --json`` prints: ``{"valid": true, "pipeline", "steps", "spec_hash"}``,
    or ``{"valid": false, "file", "problems": [{file, line, column, path, message}, …]}``."""
    try:
        loaded = validate(path, registry=registry)
    except SpecError as exc:
        problems = [p.to_json() for p in problems_of(exc)]
        return {"valid": False, "file": str(path), "problems": problems}
    p = loaded.pipeline
    return {"valid": True, "pipeline": p.name, "steps": len(p.steps), "spec_hash": loaded.spec_hash}


def json_schema() -> dict[str, Any]:
    from runwright.spec.schema import json_schema as build

    schema: dict[str, Any] = build()
    return schema


def _label(pipeline: Pipeline, step_id: str) -> str:
    step = pipeline.step(step_id)
    fan = " (for each)" if step.for_each is not None else ""
    return f"{step_id}: {step.uses}{fan}"


def graph(pipeline: Pipeline, *, fmt: str = "mermaid") -> str:
    """The DAG as Mermaid (``flowchart TD``) or Graphviz DOT text."""
    if fmt == "mermaid":
        lines = ["flowchart TD"]
        for s in pipeline.steps:
            left, right = ("{{", "}}") if s.uses == "approval" else ("[", "]")
            lines.append(f'    {s.id}{left}"{_label(pipeline, s.id)}"{right}')
        for s in pipeline.steps:
            lines.extend(f"    {need} --> {s.id}" for need in s.needs)
        return "\n".join(lines) + "\n"
    if fmt == "dot":
        lines = [f'digraph "{pipeline.name}" {{', "    rankdir=TB;", "    node [shape=box];"]
        for s in pipeline.steps:
            extra = ", shape=diamond" if s.uses == "approval" else ""
            lines.append(f'    "{s.id}" [label="{_label(pipeline, s.id)}"{extra}];')
        for s in pipeline.steps:
            lines.extend(f'    "{need}" -> "{s.id}";' for need in s.needs)
        return "\n".join(lines) + "\n}\n"
    raise UsageError(f"unknown graph format {fmt!r}; use mermaid or dot")


def init_next(pipeline: str | Path) -> tuple[str, str | None]:
    """The command ``init`` suggests for the scaffolded ``pipeline``, and a note.

    The example reports on the git repository its directory is in; outside one the
    command needs ``--input repo=…``, and the note says why.
    """
    path = Path(pipeline)
    command = f"runwright run {shlex.quote(str(path))}"
    if _git_repository(path.parent) is not None:
        return command, None
    where = shlex.quote(str(path.parent))
    return (
        f"{command} --input repo=/path/to/a/git/repo",
        f"{where} is not inside a git repository; the example reports on one",
    )


def _git_repository(directory: Path) -> Path | None:
    """The enclosing git work tree (a ``.git`` directory or file), if any."""
    for candidate in (directory.resolve(), *directory.resolve().parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def init(directory: str | Path, *, force: bool = False) -> list[Path]:
    """Scaffold a working example pipeline in ``directory``; refuses to overwrite files."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    templates = resources.files("runwright") / "templates"
    paths = [target / name for _, name in INIT_FILES]
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise UsageError(
            f"{', '.join(str(p) for p in existing)} already exist; "
            "pass --force to overwrite, or run init in another directory"
        )
    for (template, _), path in zip(INIT_FILES, paths, strict=True):
        path.write_text((templates / template).read_text("utf-8"), encoding="utf-8")
    return paths
