"""What an ``agent`` step asks for: the parsed, checked ``with:``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from runwright.errors import FatalStepError

SandboxMode = Literal["none", "bwrap"]
ACCEPTS: frozenset[str] = frozenset(
    {
        "agent",
        "prompt",
        "repo",
        "base",
        "instructions",
        "allowed_tools",
        "env",
        "timeout",
        "session",
        "sandbox",
        "network",
        "writable",
        "scope",
        "max_turns",
        "model",
        "max_budget_usd",
    }
)
REQUIRES: frozenset[str] = frozenset({"agent", "prompt"})


@dataclass(frozen=True, slots=True)
class ScopeRule:
    """``with.scope``: which files a patch may touch and how much it may change."""

    write: tuple[str, ...] = ()
    max_lines_changed: int | None = None


@dataclass(frozen=True, slots=True)
class AgentTask:
    """One agent step's ``with:``, checked."""

    agent: str
    prompt: str
    repo: Path | None = None
    base: str = "HEAD"
    instructions: str | None = None
    allowed_tools: tuple[str, ...] = ()
    env: Any = None
    timeout: float | None = None
    #: ``new``, ``resume`` (the previous attempt's session) or a session id.
    session: str = "new"
    sandbox: SandboxMode = "none"
    network: bool = False
    writable: tuple[Path, ...] = ()
    scope: ScopeRule | None = None
    max_turns: int | None = None
    model: str | None = None
    max_budget_usd: float | None = None

    @property
    def sandboxed(self) -> bool:
        return self.sandbox == "bwrap"


def parse_task(params: Mapping[str, Any], *, step_id: str, base_dir: Path) -> AgentTask:
    """Check ``with:`` and build the task; relative paths start at ``base_dir``."""
    where = f"step '{step_id}'"

    def string(key: str, *, required: bool = False) -> str | None:
        value = params.get(key)
        if value is None:
            if required:
                raise FatalStepError(f"{where}: with.{key} is required")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise FatalStepError(f"{where}: with.{key} must be a non-empty string")
        return value

    def number(key: str, *, integer: bool = False) -> Any:
        value = params.get(key)
        if value is None:
            return None
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
            what = "a positive integer" if integer else "a positive number"
            raise FatalStepError(f"{where}: with.{key} must be {what}")
        return value

    def strings(key: str) -> tuple[str, ...]:
        value = params.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise FatalStepError(f"{where}: with.{key} must be a list of strings")
        return tuple(value)

    sandbox = params.get("sandbox", "none")
    if sandbox is None:
        sandbox = "none"
    if sandbox not in ("none", "bwrap"):
        raise FatalStepError(f"{where}: with.sandbox must be 'none' or 'bwrap', not {sandbox!r}")
    network = params.get("network", False)
    if not isinstance(network, bool):
        raise FatalStepError(f"{where}: with.network must be true or false")
    session = params.get("session", "new") or "new"
    if not isinstance(session, str):
        raise FatalStepError(
            f"{where}: with.session must be 'new', 'resume' or a session id (a string)"
        )
    repo = string("repo")
    timeout = number("timeout")
    budget = number("max_budget_usd")
    return AgentTask(
        agent=str(string("agent", required=True)),
        prompt=str(string("prompt", required=True)),
        repo=None if repo is None else (base_dir / repo).resolve(),
        base=string("base") or "HEAD",
        instructions=string("instructions"),
        allowed_tools=strings("allowed_tools"),
        env=params.get("env"),
        timeout=None if timeout is None else float(timeout),
        session=session,
        sandbox=sandbox,
        network=network,
        writable=tuple((base_dir / Path(p).expanduser()).resolve() for p in strings("writable")),
        scope=_scope(params.get("scope"), where),
        max_turns=number("max_turns", integer=True),
        model=string("model"),
        max_budget_usd=None if budget is None else float(budget),
    )


def _scope(value: Any, where: str) -> ScopeRule | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not set(value) <= {"write", "max_lines_changed"}:
        raise FatalStepError(
            f"{where}: with.scope must be a mapping of write (a list of globs) and "
            "max_lines_changed (a number)"
        )
    write = value.get("write", [])
    if isinstance(write, str):
        write = [write]
    if not isinstance(write, list) or not all(isinstance(g, str) for g in write):
        raise FatalStepError(f"{where}: with.scope.write must be a list of globs")
    most = value.get("max_lines_changed")
    if most is not None and (isinstance(most, bool) or not isinstance(most, int) or most < 0):
        raise FatalStepError(f"{where}: with.scope.max_lines_changed must be a number >= 0")
    return ScopeRule(tuple(write), most)
