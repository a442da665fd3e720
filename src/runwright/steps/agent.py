"""The ``agent`` step kind: a coding agent's CLI, headless, in its own git worktree.

Thin over :mod:`runwright.agents`: it checks ``with:``, says what the step would
do (:meth:`AgentStep.capabilities`, for governance) and runs one attempt
(:func:`runwright.agents.run.run_agent`). Never cached: an agent's work is a
side effect, recorded as a patch in the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from runwright.agents.task import ACCEPTS, REQUIRES, parse_task
from runwright.steps.base import StepContext


class AgentStep:
    """``uses: agent`` — ``with: {agent, prompt, repo, base, instructions, allowed_tools, env,
    timeout, session, sandbox, network, writable, scope, max_turns, model, max_budget_usd}``.

    Output: ``{text, patch, files, diffstat, session_id, cost_usd, exit_code, branch,
    base, agent}`` (``patch`` None when the agent changed nothing; ``cost_usd`` None
    when the agent reports no cost).
    """

    name: ClassVar[str] = "agent"
    version: ClassVar[str] = "1"
    pure: ClassVar[bool] = False
    accepts: ClassVar[frozenset[str] | None] = ACCEPTS
    requires: ClassVar[frozenset[str]] = REQUIRES

    def code_version(self, params: Mapping[str, Any], ctx_dir: Path) -> str | None:
        """Everything the agent is asked is in ``params``."""
        return None

    def capabilities(self, params: Mapping[str, Any]) -> frozenset[str]:
        """What an attempt would do: run an agent that writes its worktree and spends.

        ``network`` unless it runs in bubblewrap without ``network: true``; ``sandboxed``
        when it runs in bubblewrap.
        """
        caps = {"agent", "write_workspace", "spend"}
        sandboxed = params.get("sandbox") == "bwrap"
        if sandboxed:
            caps.add("sandboxed")
        if not sandboxed or params.get("network") is True:
            caps.add("network")
        return frozenset(caps)

    async def run(self, ctx: StepContext, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run the agent in a fresh worktree (or recover its finished run); propose its diff."""
        from runwright.agents.run import run_agent

        task = parse_task(params, step_id=ctx.step_id, base_dir=ctx.pipeline_dir)
        return await run_agent(ctx, task)
