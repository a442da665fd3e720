"""``[agents.NAME]`` in ``runwright.toml``: coding-agent presets a project adds or adjusts.

A table either derives from a built-in preset (``preset = "claude-code"``, with its
own executable, extra arguments, model settings) or describes any CLI with
``command`` (an argument template; the ``command`` preset). A user's preset is as
capable as a built-in one: the same fields drive both.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Placeholders an argument template may use; the agent step fills them in.
PLACEHOLDERS = (
    "prompt",
    "prompt_file",
    "cwd",
    "session",
    "model",
    "max_turns",
    "max_budget_usd",
    "allowed_tools",
    "instructions_file",
)


class AgentConfig(BaseModel):
    """``[agents.NAME]``: one coding-agent preset."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    #: Derive from a built-in preset (``claude-code``, ``codex``, ``aider``) ...
    preset: str | None = None
    #: ... or run any CLI: the argument template (``{prompt}``, ``{cwd}``, ... placeholders).
    command: list[str] | None = Field(default=None, min_length=1)
    #: The program to run instead of the preset's (``/opt/bin/claude``, a wrapper script).
    executable: str | None = None
    #: Arguments added after the preset's own.
    args: list[str] = Field(default_factory=list)
    #: ``command``: how the prompt is given (default: argv when ``{prompt}`` is in the
    #: template, else on stdin).
    prompt: Literal["argv", "stdin"] | None = None
    #: ``command``: where the result is read (``auto``: JSON output, else a
    #: ``<result>{...}</result>`` block, else the plain text).
    result: Literal["auto", "json", "block", "text"] = "auto"
    #: ``command``: arguments added when a value is set (templates of one placeholder each).
    resume_args: list[str] = Field(default_factory=list)
    model_args: list[str] = Field(default_factory=list)
    max_turns_args: list[str] = Field(default_factory=list)
    budget_args: list[str] = Field(default_factory=list)
    tools_args: list[str] = Field(default_factory=list)
    #: ``command``: the keys of the JSON result.
    text_field: str = "result"
    cost_field: str = "total_cost_usd"
    session_field: str = "session_id"
    error_field: str = "is_error"
    #: The file (in the worktree) the step's ``instructions`` are written to (kept out of
    #: the patch); unset: a file outside the worktree, given as ``{instructions_file}``.
    instruction_file: str | None = None
    #: Default model and, for aider-like CLIs, an OpenAI-compatible server to use.
    model: str | None = None
    base_url: str | None = None
    #: The most one run of this agent may cost (USD): reserved against the budgets and
    #: passed to agents that take a limit. Unset: the budgets' remaining headroom.
    max_budget_usd: float | None = Field(default=None, gt=0)
    #: Files the agent leaves behind that are never part of a patch (globs, untracked only).
    scratch: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> AgentConfig:
        if (self.preset is None) == (self.command is None):
            raise ValueError(
                'give exactly one of preset = "claude-code" (a built-in to adjust) and '
                'command = ["my-agent", "{prompt}"] (any CLI)'
            )
        for arg in (
            *(self.command or ()),
            *self.resume_args,
            *self.model_args,
            *self.max_turns_args,
            *self.budget_args,
            *self.tools_args,
        ):
            _check_template(arg)
        return self


def _check_template(arg: str) -> None:
    import string

    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
    except ValueError as exc:
        raise ValueError(f"argument {arg!r}: {exc} (write {{{{ and }}}} for braces)") from None
    for name in fields:
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ValueError(f"argument {arg!r}: unknown placeholder {{{name}}}; known: {known}")
