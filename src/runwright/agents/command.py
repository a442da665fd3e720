"""The ``command`` preset: any agent CLI, described in ``runwright.toml``.

```toml
[agents.my-agent]
command = ["my-agent", "--task", "{prompt}", "--dir", "{cwd}"]
resume_args = ["--session", "{session}"]
result = "auto"      # JSON output, else a <result>{...}</result> block, else the text
```

The prompt goes on argv where ``{prompt}`` appears, else on stdin (``prompt =
"stdin"`` / ``"argv"`` says so explicitly). ``*_args`` lists are added only when
their value is set (a session to resume, a model, a turn or budget limit, allowed
tools). The result's keys are configurable (``text_field``, ``cost_field``,
``session_field``, ``error_field``); Claude-Code-like names by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from runwright.agents.preset import (
    AgentRequest,
    AgentResult,
    Invocation,
    last_json_object,
    number,
    result_block,
    text_of,
)


@dataclass(frozen=True, slots=True)
class CommandPreset:
    """``agent: NAME`` for ``[agents.NAME] command = [...]``."""

    name: str
    command: tuple[str, ...]
    prompt_mode: Literal["argv", "stdin"] | None = None
    result: Literal["auto", "json", "block", "text"] = "auto"
    resume_args: tuple[str, ...] = ()
    model_args: tuple[str, ...] = ()
    max_turns_args: tuple[str, ...] = ()
    budget_args: tuple[str, ...] = ()
    tools_args: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    text_field: str = "result"
    cost_field: str = "total_cost_usd"
    session_field: str = "session_id"
    error_field: str = "is_error"
    instruction_file: str | None = None
    model: str | None = None
    max_budget_usd: float | None = None
    scratch: tuple[str, ...] = ()

    @property
    def supports_resume(self) -> bool:
        """Only when the template says how (``resume_args``)."""
        return bool(self.resume_args)

    @property
    def assigns_session(self) -> bool:
        """A command names its own sessions."""
        return False

    @property
    def takes_budget(self) -> bool:
        """Only when the template says how (``budget_args``)."""
        return bool(self.budget_args)

    @property
    def on_stdin(self) -> bool:
        """Whether the prompt is written to the process's stdin."""
        if self.prompt_mode is not None:
            return self.prompt_mode == "stdin"
        return not any("{prompt}" in a for a in self.command)

    def prepare(
        self, request: AgentRequest, env: Mapping[str, str], saved: bytes | None = None
    ) -> AgentRequest:
        """Nothing to ready: the command is run as configured."""
        return request

    def session_record(
        self, session: str, cwd: Path, env: Mapping[str, str], mask: Callable[[str], str]
    ) -> bytes | None:
        """Nothing to keep in the store."""
        return None

    def invocation(self, request: AgentRequest) -> Invocation:
        """The template filled in, with the optional argument groups whose value is set."""
        model = request.model or self.model
        values: dict[str, str | None] = {
            "prompt": request.prompt,
            "prompt_file": str(request.prompt_file) if request.prompt_file else None,
            "cwd": str(request.cwd),
            "session": request.session,
            "model": model,
            "max_turns": None if request.max_turns is None else str(request.max_turns),
            "max_budget_usd": (
                None if request.max_budget_usd is None else f"{request.max_budget_usd:.6f}"
            ),
            "allowed_tools": ",".join(request.allowed_tools) or None,
            "instructions_file": (
                str(request.instructions_file) if request.instructions_file else None
            ),
        }
        argv = [_fill(a, values) for a in self.command]
        for group, key in (
            (self.resume_args, "session"),
            (self.model_args, "model"),
            (self.max_turns_args, "max_turns"),
            (self.budget_args, "max_budget_usd"),
            (self.tools_args, "allowed_tools"),
        ):
            if values[key] is not None:
                argv += [_fill(a, values) for a in group]
        argv += list(self.args)
        return Invocation(tuple(argv), stdin=request.prompt if self.on_stdin else None)

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentResult:
        """JSON output or a ``<result>`` block, read with the configured keys."""
        data: dict[str, Any] | None = None
        if self.result in ("auto", "json"):
            data = last_json_object(stdout)
        if data is None and self.result in ("auto", "block"):
            data = result_block(stdout)
        if data is None:
            failed = exit_code != 0 or self.result in ("json", "block")
            return AgentResult(text=stdout.strip() or stderr.strip(), is_error=failed)
        session = data.get(self.session_field)
        return AgentResult(
            text=text_of(data.get(self.text_field)),
            session_id=str(session) if session not in (None, "") else None,
            cost_usd=number(data.get(self.cost_field)),
            is_error=bool(data.get(self.error_field)) or exit_code != 0,
        )


def _fill(template: str, values: Mapping[str, str | None]) -> str:
    # Missing values fill in empty: only the optional groups are skipped as a whole.
    return template.format_map({k: "" if v is None else v for k, v in values.items()})
