"""`runwright output`: what a step produced, blobs resolved."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from runwright import api
from runwright.cli.app import G, app, run_async


def pretty(value: Any) -> str:
    """Strings as they are; a mapping one key per line (multi-line text indented); else JSON."""
    if isinstance(value, str):
        return value.rstrip("\n")
    if isinstance(value, dict) and value:
        lines: list[str] = []
        for key, v in value.items():
            if isinstance(v, str) and "\n" in v.rstrip("\n"):
                lines.append(f"{key}:")
                lines.extend(f"  {line}" for line in v.rstrip("\n").splitlines())
            elif isinstance(v, str):
                lines.append(f"{key}: {v.rstrip(chr(10))}")
            else:
                lines.append(f"{key}: {json.dumps(v, ensure_ascii=False)}")
        return "\n".join(lines)
    return json.dumps(value, indent=2, ensure_ascii=False)


@app.command()
def output(
    run_id: str,
    step: str,
    item: Annotated[
        int | None, typer.Option("--item", min=0, help="One for_each item's output.")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="The raw JSON value.")] = False,
) -> None:
    """Print a step's committed output (a for_each step: the list of its items' outputs)."""

    async def go() -> Any:
        async with api.Session(G.settings()) as session:
            return await session.output(run_id, step, item=item)

    value = run_async(go)
    # Plain writes, not Rich: output is data, never markup.
    sys.stdout.write((json.dumps(value) if json_ else pretty(value)) + "\n")
    sys.stdout.flush()
