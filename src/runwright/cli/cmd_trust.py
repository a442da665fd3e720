"""`runwright trust`: each agent preset's record and level; `trust promote` changes a level."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from runwright.cli.app import G, app, no_database, read_async, run_async
from runwright.cli.output import emit_json, markup, out

if TYPE_CHECKING:
    from runwright.governance.record import TrustRecord
    from runwright.store.records_trust import TrustGrant

trust_app = typer.Typer(
    help="Trust levels of agent presets: their record from the patch ledger, and promotions.",
    invoke_without_command=True,
)
app.add_typer(trust_app, name="trust")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


@trust_app.callback()
def trust(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show each agent preset's record and whether it has earned the next level."""
    if ctx.invoked_subcommand is not None:
        return
    from runwright import api
    from runwright.api import trust as trust_api

    async def go() -> list[TrustRecord]:
        async with api.Session(G.settings(), create=False) as session:
            return await trust_api.records(session)

    found = read_async(go)
    if json_:
        emit_json([r.to_json() for r in found or []])
        return
    if found is None:
        out.print(no_database("trust records"))
        return
    if not found:
        out.print("no agent has proposed a patch yet")
        return
    # One block per agent: a table of nine counts does not fit a terminal.
    for n, r in enumerate(found):
        if n:
            out.print()
        out.print(markup("[bold]{}[/]  {} ({})", r.counts.agent, r.level, r.level_source))
        out.print(markup("  {} patches: {}", r.counts.proposed, _record(r)))
        out.print(
            markup(
                "  gate pass rate {}, interventions {}",
                _rate(r.pass_rate),
                _rate(r.intervention_rate),
            )
        )
        if r.next_level is None:
            out.print("  next: none (the highest level)")
        elif r.eligible:
            out.print(markup("  next: [green]ready for {}[/]", r.next_level))
        else:
            out.print(markup("  next: {} needs {}", r.next_level, "; ".join(r.shortfalls)))


def _record(r: TrustRecord) -> str:
    """What became of the agent's patches, and the approvals it was given."""
    c = r.counts
    rejected = c.failed_gate + c.out_of_scope + c.rejected_by_person
    parts = [(c.applied - c.rolled_back, "applied"), (c.passed - c.applied, "validated")]
    parts.append((rejected, "rejected"))
    parts += [(c.rolled_back, "rolled back"), (c.conflicted, "conflicted")]
    shown = [f"{n} {what}" for n, what in parts if n]
    shown.append(f"{c.approvals} approval" + ("" if c.approvals == 1 else "s"))
    return ", ".join(shown)


@trust_app.command()
def promote(
    agent: str,
    level: str,
    by: Annotated[
        str | None,
        typer.Option("--as", "--by", envvar="RUNWRIGHT_USER", help="Who decides (default: you)."),
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why, recorded with it.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Set AGENT's trust level (a person's explicit decision, recorded)."""
    from runwright import api
    from runwright.api import trust as trust_api

    async def go() -> TrustGrant:
        async with api.Session(G.settings()) as session:
            return await trust_api.promote_agent(session, agent, level, by=by, note=note)

    grant = run_async(go)
    if json_:
        emit_json(grant.to_json())
        return
    out.print(markup("agent {} is now at trust level {} (by {})", agent, level, grant.granted_by))
