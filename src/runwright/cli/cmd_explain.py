"""`runwright explain model ALIAS`: the ranked candidates and the one a call would use now."""

from __future__ import annotations

from typing import Annotated

import typer

from runwright.cli.app import G, app, run_async
from runwright.cli.output import emit_json, markup, out

explain_app = typer.Typer(help="Explain how runwright decides (model routing).")
app.add_typer(explain_app, name="explain")


@explain_app.command("model")
def model(
    ref: Annotated[
        str, typer.Argument(help="A model alias from runwright.toml, or provider:model.")
    ],
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    pipeline: Annotated[
        str | None,
        typer.Option(
            "--pipeline", help="Also check this pipeline's budgets ([budgets.pipelines])."
        ),
    ] = None,
) -> None:
    """Rank a model's candidates; say which one a call would use now and why."""
    from runwright.api.explain import explain_model

    view = run_async(lambda: explain_model(G.settings(), ref, pipeline=pipeline))
    if json_:
        emit_json(view.to_json())
        return
    title = f"model {view.ref}" + (
        f" (alias, {len(view.candidates)} candidates)" if view.alias else ""
    )
    out.print(title)
    pick = view.candidates[view.chosen].ref if view.chosen is not None else None
    if pick:
        out.print(markup("  would use: [bold green]{}[/]", pick))
    else:
        out.print(markup("  would use: [bold red]none[/]"))
    out.print(f"  why: {view.why}")
    out.print("")
    for i, c in enumerate(view.candidates):
        if i == view.chosen:
            mark = "[green]→ use [/]"
        elif c.usable:
            mark = "  next "
        else:
            mark = "[yellow]  skip [/]"
        where = f"({c.type}, {c.endpoint})"
        out.print(markup(mark + " {}. [bold]{}[/]  {}", c.rank + 1, c.ref, where))
        for r in c.reasons:
            out.print(f"         ✗ {r.code.replace('_', ' ')}: {r.detail}")
        for n in c.notes:
            out.print(f"         ✓ {n}")
        if c.last_error and c.failures:
            out.print(f"         last error: {c.last_error}")
