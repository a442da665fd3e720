"""The agent-preset seam: how one coding-agent CLI is started and how its result is read.

A preset is data plus a parser (no subclass tree): it turns an
:class:`AgentRequest` into an :class:`Invocation` (argv, stdin, extra
environment) and the finished process's output into an :class:`AgentResult`.
Everything else — worktrees, the process group, the sandbox, budgets, patches —
is the agent step's, the same for every preset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class AgentRequest:
    """What one run of an agent is asked to do, and within which limits."""

    prompt: str
    #: The worktree the agent works in (its cwd).
    cwd: Path
    #: Continue this session (``--resume``) instead of starting a new one.
    session: str | None = None
    #: The id to give a new session, for CLIs that let the caller choose it (so that a
    #: run cut short by a crash can be continued); None: the CLI picks one.
    new_session: str | None = None
    allowed_tools: tuple[str, ...] = ()
    max_turns: int | None = None
    model: str | None = None
    #: The most this run may spend (USD): the budgets' headroom or the preset's maximum.
    max_budget_usd: float | None = None
    #: Where the step's instructions were written, for presets that take a file.
    instructions_file: Path | None = None
    #: A file holding the prompt (for CLIs that read the prompt from a path).
    prompt_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Invocation:
    """The process to start: argv, what goes on its stdin, extra environment."""

    argv: tuple[str, ...]
    stdin: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgentResult:
    """What the agent reported: its final text, session, cost (None: unknown), failure."""

    text: str
    session_id: str | None = None
    cost_usd: float | None = None
    is_error: bool = False


@runtime_checkable
class Preset(Protocol):
    """One coding-agent CLI (``with.agent`` names it)."""

    @property
    def name(self) -> str:
        """The name used in ``with.agent``, shown in events, costs and trust records."""
        ...

    @property
    def instruction_file(self) -> str | None:
        """The file in the worktree the CLI reads instructions from (``CLAUDE.md``).

        None: instructions go to a file outside the worktree, given to
        :meth:`invocation` as :attr:`AgentRequest.instructions_file`.
        """
        ...

    @property
    def supports_resume(self) -> bool:
        """Whether :attr:`AgentRequest.session` is honoured (a resumed conversation)."""
        ...

    @property
    def assigns_session(self) -> bool:
        """Whether :attr:`AgentRequest.new_session` is honoured (the caller names sessions)."""
        ...

    @property
    def takes_budget(self) -> bool:
        """Whether :attr:`AgentRequest.max_budget_usd` is passed to the CLI."""
        ...

    @property
    def max_budget_usd(self) -> float | None:
        """The most one run may cost (USD) when the step sets no ``max_budget_usd``."""
        ...

    @property
    def model(self) -> str | None:
        """The model used when the step names none."""
        ...

    @property
    def scratch(self) -> tuple[str, ...]:
        """Untracked files the CLI leaves in the worktree that never belong to a patch."""
        ...

    def prepare(
        self, request: AgentRequest, env: Mapping[str, str], saved: bytes | None = None
    ) -> AgentRequest:
        """Ready what the CLI needs before it runs with ``env``; the request to run.

        Claude Code's conversation is carried to where the CLI will look for it, from
        this machine or from ``saved`` (a :meth:`session_record` kept in the store); a
        session that cannot be continued comes back dropped (a new one instead).
        """
        ...

    def session_record(
        self, session: str, cwd: Path, env: Mapping[str, str], mask: Callable[[str], str]
    ) -> bytes | None:
        """What the CLI keeps of ``session`` on this machine, text passed through ``mask``,
        for the store (so another machine can continue it); None: nothing to keep."""
        ...

    def invocation(self, request: AgentRequest) -> Invocation:
        """The process that runs ``request``."""
        ...

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentResult:
        """Read the finished process's output (``exit_code`` negative: killed by a signal)."""
        ...


_BLOCK = re.compile(r"<result>\s*(.*?)\s*</result>", re.S)


def last_json_object(text: str) -> dict[str, Any] | None:
    """The whole of ``text`` as a JSON object, else its last line that is one."""
    text = text.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return value
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return None


def result_block(text: str) -> dict[str, Any] | None:
    """The JSON object in the last ``<result>{...}</result>`` block of ``text``, if any."""
    blocks = _BLOCK.findall(text)
    if not blocks:
        return None
    try:
        value = json.loads(blocks[-1])
    except json.JSONDecodeError:
        return {"result": blocks[-1]}
    return value if isinstance(value, dict) else {"result": value}


def number(value: Any) -> float | None:
    """A reported cost as a float, None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def text_of(value: Any) -> str:
    """A reported result as text (JSON for structured values)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)
