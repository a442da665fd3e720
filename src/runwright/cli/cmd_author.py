"""Commands about pipeline files: init, validate, graph, schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runwright import api
from runwright.cli import exits
from runwright.cli.app import app, guard
from runwright.cli.output import emit_json, markup, out

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write the example.")] = Path(),
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Scaffold a working example pipeline (repo report) in DIRECTORY."""
    paths = guard(lambda: api.init(directory, force=force))
    for p in paths:
        out.print(f"wrote {p}")
    command, note = api.init_next(paths[0])
    out.print(f"next: {command}")
    if note is not None:
        out.print(f"  ({note})")


@app.command()
def validate(file: Path, json_: JsonOpt = False) -> None:
    """Check a pipeline file; every problem is reported with file:line:column."""
    if json_:
        report = guard(lambda: api.validation_report(file))
        emit_json(report)
        if not report["valid"]:
            raise typer.Exit(exits.USAGE)
        return
    loaded = guard(lambda: api.validate(file))
    p = loaded.pipeline
    out.print(markup("{}: pipeline [bold]{}[/] is valid ({} steps)", file, p.name, len(p.steps)))


@app.command()
def graph(
    file: Path,
    format: Annotated[str, typer.Option("--format", "-f", help="mermaid or dot.")] = "mermaid",
) -> None:
    """Print the pipeline's DAG as Mermaid or Graphviz DOT."""
    text = guard(lambda: api.graph(api.validate(file).pipeline, fmt=format))
    print(text, end="")


@app.command()
def schema() -> None:
    """Print the JSON Schema of pipeline files (for editors)."""
    emit_json(guard(api.json_schema))
