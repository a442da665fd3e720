"""`runwright costs`: what the model calls cost, by step, model, provider or day."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from runwright.cli.app import G, app, run_async
from runwright.cli.output import emit_json, markup, out, table

if TYPE_CHECKING:
    from runwright.api.costs import CostReport


@app.command()
def costs(
    run: Annotated[str | None, typer.Option("--run", "-r", help="Only this run.")] = None,
    by: Annotated[
        str, typer.Option("--by", help="Group by step, model, provider, day or run.")
    ] = "step",
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show what model calls cost (an unknown price is shown as unknown, never $0)."""
    from runwright import api
    from runwright.api.costs import money

    async def go() -> CostReport:
        async with api.Session(G.settings()) as session:
            return await session.costs(run_id=run, by=by)

    report = run_async(go)
    if json_:
        emit_json(report.to_json())
        return
    if not report.lines and not report.lost_calls:
        out.print("no model calls recorded" + (f" for run {report.run_id}" if run else ""))
        return
    grid = table(by, "calls", "input", "output", "cached", "cost")
    for line in [*report.lines, report.total]:
        grid.add_row(
            markup("[bold]total[/]") if line is report.total else line.key,
            str(line.calls),
            str(line.input_tokens),
            str(line.output_tokens),
            str(line.cached_tokens),
            money(line.usd, line.unknown),
        )
    out.print(grid)
    if report.total.unknown:
        out.print(
            markup(
                "[yellow]{} call(s) have no known price[/]; add them under {} in runwright.toml",
                report.total.unknown,
                '[prices."provider:model"]',
            )
        )
    if report.lost_calls:
        out.print(
            f"{report.lost_calls} call(s) lost in a crash, charged at their worst case: "
            f"{money(report.lost_usd)}"
        )
