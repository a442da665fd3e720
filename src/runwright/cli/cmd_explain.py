"""`runwright explain model ALIAS`: the ranked candidates and the one a call would use now."""

from __future__ import annotations

from typing import Annotated

import typer

from runwright.cli.app import G, app, escape, run_async
from runwright.cli.output import emit_json, out

explain_app = typer.Typer(help="Explain how runwright decides (model routing).")
app.add_typer(explain_app, name="explain")


@explain_app.command("model")
def model(
    ref: Annotated[
        str, typer.Argument(help="A model alias from runwright.toml, or provider:model.")
    ],
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Rank a model's candidates; say which one a call would use now and why."""
    from runwright.api.explain import explain_model

    view = run_async(lambda: explain_model(G.settings(), ref))
    if json_:
        emit_json(view.to_json())
        return
    title = f"model {view.ref}" + (
        f" (alias, {len(view.candidates)} candidates)" if view.alias else ""
    )
    out.print(escape(title))
    pick = view.candidates[view.chosen].ref if view.chosen is not None else None
    if pick:
        out.print(f"  would use: [bold green]{escape(pick)}[/]")
    else:
        out.print("  would use: [bold red]none[/]")
    out.print(f"  why: {escape(view.why)}")
    out.print("")
    for i, c in enumerate(view.candidates):
        if i == view.chosen:
            mark = "[green]→ use [/]"
        elif c.usable:
            mark = "  next "
        else:
            mark = "[yellow]  skip [/]"
        where = f"({escape(c.type)}, {escape(c.endpoint)})"
        out.print(f"{mark} {c.rank + 1}. [bold]{escape(c.ref)}[/]  {where}")
        for r in c.reasons:
            out.print(f"         ✗ {escape(r.code.replace('_', ' '))}: {escape(r.detail)}")
        for n in c.notes:
            out.print(f"         ✓ {escape(n)}")
        if c.last_error and c.failures:
            out.print(f"         last error: {escape(c.last_error)}")
