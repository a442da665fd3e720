"""Trust grants and the patch ledger's per-agent counts, written once for both databases."""

from __future__ import annotations

from runwright.events import EventType
from runwright.store.records_trust import PatchCounts, TrustGrant
from runwright.store.sql import Cursor


class TrustWrites:
    """The trust part of :class:`~runwright.store.sql_tx.SqlTransaction`."""

    __slots__ = ()
    _c: Cursor

    async def add_trust_grant(self, grant: TrustGrant) -> None:
        await self._c.count(
            "INSERT INTO trust_grants (agent, level, granted_by, note, ts) VALUES (?,?,?,?,?)",
            (grant.agent, grant.level, grant.granted_by, grant.note, grant.ts),
        )

    async def trust_grants(self, agent: str | None = None) -> list[TrustGrant]:
        sql = "SELECT agent, level, granted_by, note, ts FROM trust_grants"
        args: tuple[str, ...] = ()
        if agent is not None:
            sql += " WHERE agent=?"
            args = (agent,)
        rows = await self._c.rows(sql + " ORDER BY id", args)
        return [TrustGrant(r[0], r[1], r[2], r[3], float(r[4])) for r in rows]

    async def patch_counts(self) -> list[PatchCounts]:
        # Gates and scope checks write reasons starting "gate" / "scope"; a person's
        # rejection starts "rejected by" (the ledger's wording). The patterns are
        # parameters: a literal % in the SQL is psycopg's placeholder.
        rows = await self._c.rows(
            "SELECT agent, COUNT(*),"
            " SUM(CASE WHEN state IN ('validated','accepted','applied','rolled_back')"
            " THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN state='rejected' AND reason LIKE ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN state='rejected' AND reason LIKE ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN state='rejected' AND reason LIKE ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN state IN ('applied','rolled_back') THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN state='rolled_back' THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN state='conflicted' THEN 1 ELSE 0 END)"
            " FROM patches WHERE agent IS NOT NULL GROUP BY agent ORDER BY agent",
            ("gate%", "scope%", "rejected by%"),
        )
        runs = await self._c.rows(
            "SELECT DISTINCT agent, run_id FROM patches WHERE agent IS NOT NULL"
        )
        # A person's yes in a run the agent worked in: an approval step, or a step that
        # asked because it was beyond its trust level.
        approvals = await self._c.rows(
            "SELECT p.agent, COUNT(*) FROM events e JOIN"
            " (SELECT DISTINCT agent, run_id FROM patches WHERE agent IS NOT NULL) p"
            " ON e.run_id = p.run_id WHERE e.type = ? GROUP BY p.agent",
            (EventType.APPROVAL_GRANTED.value,),
        )
        approved = {str(a): int(n) for a, n in approvals}
        by_agent: dict[str, list[str]] = {}
        for agent, run_id in runs:
            by_agent.setdefault(str(agent), []).append(str(run_id))
        out = []
        for r in rows:
            n = [int(v or 0) for v in r[1:9]]
            name = str(r[0])
            agent_runs = tuple(sorted(by_agent.get(name, [])))
            out.append(
                PatchCounts(
                    name,
                    n[0],
                    n[1],
                    n[2],
                    n[3],
                    n[4],
                    n[5],
                    n[6],
                    n[7],
                    agent_runs,
                    approved.get(name, 0),
                )
            )
        return out
