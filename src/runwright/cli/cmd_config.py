"""`runwright config show`: the effective runwright.toml, secrets masked, with sources."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from runwright.cli.app import G, app, guard
from runwright.cli.output import emit_json, out

config_app = typer.Typer(help="Inspect the project configuration (runwright.toml).")
app.add_typer(config_app, name="config")


@config_app.command("show")
def show(
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print the effective configuration and where each value came from."""
    from runwright.api.config import show_config

    view = guard(lambda: show_config(G.settings()))
    if json_:
        emit_json(view.to_json())
        return
    where = view.path or "no runwright.toml found (built-in defaults)"
    out.print(f"# config: {where} ({view.found_by})", highlight=False)
    width = max((len(e.key) for e in view.entries), default=0)
    for e in view.entries:
        value = json.dumps(e.value)
        out.print(f"{e.key:<{width}} = {value}  # {e.source}", highlight=False)
