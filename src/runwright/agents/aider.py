"""The ``aider`` preset: aider headless (``aider --message PROMPT --yes-always``).

aider edits the files and exits; runwright commits (``--no-auto-commits``).
It talks to any OpenAI-compatible server (``--openai-api-base``), so it can
run on the local model. It prints no machine-readable result: the text is its
output, and the cost is read from its ``Cost: $X message, $Y session`` line
when it prints one (unknown otherwise). Instructions are a read-only file
outside the worktree (``--read``). It has no session to resume.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runwright.agents.preset import AgentRequest, AgentResult, Invocation

_COST = re.compile(r"Cost:\s*\$([0-9.]+)\s*message,\s*\$([0-9.]+)\s*session")


@dataclass(frozen=True, slots=True)
class Aider:
    """``agent: aider``."""

    name: str = "aider"
    executable: str = "aider"
    args: tuple[str, ...] = ()
    model: str | None = None
    #: An OpenAI-compatible server (``[agents.NAME] base_url``).
    base_url: str | None = None
    max_budget_usd: float | None = None
    #: aider's caches and histories, which it writes in the repository root.
    scratch: tuple[str, ...] = (".aider*",)
    instruction_file: str | None = None
    supports_resume: bool = False
    assigns_session: bool = False
    takes_budget: bool = False

    def prepare(
        self, request: AgentRequest, env: Mapping[str, str], saved: bytes | None = None
    ) -> AgentRequest:
        """Nothing to ready: aider keeps no session to carry."""
        return request

    def session_record(
        self, session: str, cwd: Path, env: Mapping[str, str], mask: Callable[[str], str]
    ) -> bytes | None:
        """Nothing to keep in the store."""
        return None

    def invocation(self, request: AgentRequest) -> Invocation:
        """``aider --message PROMPT --yes-always --no-auto-commits ...``."""
        argv = [
            self.executable,
            "--message",
            request.prompt,
            "--yes-always",
            "--no-auto-commits",
            "--no-dirty-commits",
            "--no-gitignore",
            "--no-check-update",
            "--no-show-model-warnings",
            "--no-pretty",
            "--no-stream",
            "--no-analytics",
        ]
        model = request.model or self.model
        if model:
            argv += ["--model", model]
        if self.base_url:
            argv += ["--openai-api-base", self.base_url]
        if request.instructions_file is not None:
            argv += ["--read", str(request.instructions_file)]
        return Invocation(tuple(argv + list(self.args)))

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentResult:
        """The output as the text; the session cost from aider's last ``Cost:`` line."""
        costs = _COST.findall(stdout)
        cost = float(costs[-1][1]) if costs else None
        text = stdout.strip() if exit_code == 0 else (stderr.strip() or stdout.strip())
        return AgentResult(text=text, session_id=None, cost_usd=cost, is_error=exit_code != 0)
