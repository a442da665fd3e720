"""The ``claude-code`` preset: Claude Code headless (``claude -p PROMPT --output-format json``).

Claude Code prints one JSON object when it finishes: ``result`` (the final text),
``session_id``, ``total_cost_usd``, ``is_error`` and ``subtype``, plus usage and
timing. ``--resume SESSION`` continues a conversation (``--session-id`` names a new one, so
runwright knows it before the agent finishes), ``--max-turns`` and
``--max-budget-usd`` bound it, ``--allowedTools`` pre-approves tools. Claude Code
looks a session up under the directory it runs in: :meth:`ClaudeCode.prepare`
carries it into the attempt's worktree first (:mod:`runwright.agents.claude_sessions`).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runwright.agents.preset import (
    AgentRequest,
    AgentResult,
    Invocation,
    last_json_object,
    number,
    text_of,
)


@dataclass(frozen=True, slots=True)
class ClaudeCode:
    """``agent: claude-code``."""

    name: str = "claude-code"
    executable: str = "claude"
    #: Added after runwright's arguments (``[agents.NAME] args``).
    args: tuple[str, ...] = ()
    model: str | None = None
    max_budget_usd: float | None = None
    scratch: tuple[str, ...] = ()
    instruction_file: str | None = "CLAUDE.md"
    supports_resume: bool = True
    assigns_session: bool = True
    takes_budget: bool = True
    #: Headless runs cannot answer permission prompts: edits in the worktree are accepted.
    permission_mode: str = "acceptEdits"

    def prepare(
        self, request: AgentRequest, env: Mapping[str, str], saved: bytes | None = None
    ) -> AgentRequest:
        """The session carried into ``request.cwd`` (from this machine, else from
        ``saved``); dropped when neither has it."""
        from runwright.agents.claude_sessions import carry, install

        session = request.session
        if session is None or carry(session, request.cwd, env):
            return request
        if saved is not None and install(session, saved, request.cwd, env):
            return request
        return dataclasses.replace(request, session=None, new_session=str(uuid.uuid4()))

    def session_record(
        self, session: str, cwd: Path, env: Mapping[str, str], mask: Callable[[str], str]
    ) -> bytes | None:
        """The session's transcript and sub-agent logs, as one archive."""
        from runwright.agents.claude_sessions import export

        return export(session, cwd, env, mask=mask)

    def invocation(self, request: AgentRequest) -> Invocation:
        """``claude -p PROMPT --output-format json`` with the request's limits."""
        argv = [self.executable, "-p", request.prompt, "--output-format", "json"]
        argv += ["--permission-mode", self.permission_mode]
        if request.session:
            argv += ["--resume", request.session]
        elif request.new_session:
            argv += ["--session-id", request.new_session]
        if request.allowed_tools:
            argv += ["--allowedTools", ",".join(request.allowed_tools)]
        if request.max_turns is not None:
            argv += ["--max-turns", str(request.max_turns)]
        model = request.model or self.model
        if model:
            argv += ["--model", model]
        if request.max_budget_usd is not None:
            argv += ["--max-budget-usd", f"{request.max_budget_usd:.6f}"]
        return Invocation(tuple(argv + list(self.args)))

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentResult:
        """The JSON result object (``total_cost_usd``; older versions said ``cost_usd``)."""
        data = last_json_object(stdout)
        if data is None:
            return AgentResult(text=stdout.strip() or stderr.strip(), is_error=True)
        cost = number(data.get("total_cost_usd", data.get("cost_usd")))
        session = data.get("session_id")
        failed = bool(data.get("is_error")) or str(data.get("subtype", "success")) != "success"
        text = text_of(data.get("result"))
        if failed and not text:
            text = str(data.get("subtype") or "the agent reported an error")
        return AgentResult(
            text=text,
            session_id=session if isinstance(session, str) and session else None,
            cost_usd=cost,
            is_error=failed or exit_code != 0,
        )
