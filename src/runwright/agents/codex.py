"""The ``codex`` preset: OpenAI Codex CLI headless (``codex exec --json PROMPT``).

``--json`` prints one event per line: ``thread.started`` (``thread_id``, the
session), ``item.completed`` (``item.type == "agent_message"`` carries the
text), ``turn.completed`` (token usage), ``turn.failed`` / ``error``. Codex
reports tokens but no cost, so the cost is unknown. ``codex exec resume
SESSION`` continues a session; instructions go to ``AGENTS.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runwright.agents.preset import AgentRequest, AgentResult, Invocation

#: Item types that carry the agent's text (``assistant_message`` in older versions).
_MESSAGES = ("agent_message", "assistant_message")


@dataclass(frozen=True, slots=True)
class Codex:
    """``agent: codex``."""

    name: str = "codex"
    executable: str = "codex"
    args: tuple[str, ...] = ()
    model: str | None = None
    max_budget_usd: float | None = None
    scratch: tuple[str, ...] = ()
    instruction_file: str | None = "AGENTS.md"
    supports_resume: bool = True
    assigns_session: bool = False
    takes_budget: bool = False

    def prepare(
        self, request: AgentRequest, env: Mapping[str, str], saved: bytes | None = None
    ) -> AgentRequest:
        """Nothing to ready: codex finds a session by id wherever it runs."""
        return request

    def session_record(
        self, session: str, cwd: Path, env: Mapping[str, str], mask: Callable[[str], str]
    ) -> bytes | None:
        """Nothing to keep in the store."""
        return None

    def invocation(self, request: AgentRequest) -> Invocation:
        """``codex exec [resume SESSION] --json --full-auto ... PROMPT``."""
        argv = [self.executable, "exec"]
        if request.session:
            argv += ["resume", request.session]
        argv += ["--json", "--full-auto", "--skip-git-repo-check"]
        model = request.model or self.model
        if model:
            argv += ["--model", model]
        argv += list(self.args)
        return Invocation((*argv, request.prompt))

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentResult:
        """Fold the JSONL events: the last agent message, the thread id, any failure."""
        session: str | None = None
        texts: list[str] = []
        error: str | None = None
        for line in stdout.splitlines():
            event = _event(line)
            if event is None:
                continue
            kind = event.get("type")
            if kind in ("thread.started", "thread.resumed") and isinstance(
                event.get("thread_id"), str
            ):
                session = event["thread_id"]
            elif kind == "item.completed" and isinstance(event.get("item"), dict):
                item = event["item"]
                if item.get("type", item.get("item_type")) in _MESSAGES:
                    texts.append(str(item.get("text", "")))
            elif kind == "turn.failed":
                err = event.get("error")
                error = str(err.get("message") if isinstance(err, dict) else err)
            elif kind == "error":
                error = str(event.get("message", "codex reported an error"))
        text = texts[-1] if texts else (error or stderr.strip())
        return AgentResult(
            text=text,
            session_id=session,
            cost_usd=None,
            is_error=error is not None or exit_code != 0,
        )


def _event(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
