"""The ``gate`` step kind: run commands against a patch in a clean worktree.

A pass marks the patch ``validated``; a fail rejects it and fails the step with
the failing command's output, which an ``on_fail`` loop feeds back to the agent.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from runwright.errors import FatalStepError, GateFailed
from runwright.events import EventType, Level
from runwright.steps.base import StepContext

if TYPE_CHECKING:
    from runwright.repo.worktree import Worktree

#: Lines of a failing command's output kept in the error (and so in the feedback).
TAIL_LINES = 40


class GateStep:
    """``uses: gate`` — ``with: {patch, command | commands, timeout, env}``."""

    name: ClassVar[str] = "gate"
    version: ClassVar[str] = "1"
    pure: ClassVar[bool] = False
    accepts: ClassVar[frozenset[str] | None] = frozenset(
        {"patch", "command", "commands", "timeout", "env", "sandbox", "network"}
    )
    requires: ClassVar[frozenset[str]] = frozenset({"patch"})

    def capabilities(self, params: Mapping[str, Any]) -> frozenset[str]:
        """Gate commands are shell commands (the tests of an untrusted patch)."""
        if params.get("sandbox") == "bwrap":
            caps = {"shell", "write_workspace", "sandboxed"}
            return frozenset(caps | {"network"} if params.get("network") is True else caps)
        return frozenset({"shell", "write_workspace", "network"})

    def code_version(self, params: Mapping[str, Any], ctx_dir: Path) -> str | None:
        return None

    async def run(self, ctx: StepContext, params: Mapping[str, Any]) -> dict[str, Any]:
        from runwright.patches.gate import applied, gateable, judge

        commands = _commands(ctx, params)
        patch_id = params.get("patch")
        if patch_id in (None, "", "None"):
            raise FatalStepError(
                f"step {ctx.step_id!r}: there is no patch to gate (the agent changed nothing)"
            )
        if ctx.store is None:
            raise FatalStepError(f"step {ctx.step_id!r}: a gate needs the run's database")
        timeout = params.get("timeout")
        if timeout is not None and not isinstance(timeout, int | float):
            raise FatalStepError(f"step {ctx.step_id!r}: with.timeout must be seconds")
        sandbox = params.get("sandbox", "none")
        if sandbox not in ("none", "bwrap"):
            raise FatalStepError(f"step {ctx.step_id!r}: with.sandbox must be none or bwrap")
        network = params.get("network", False)
        if not isinstance(network, bool):
            raise FatalStepError(f"step {ctx.step_id!r}: with.network must be true or false")
        store = ctx.store
        p = await gateable(store, str(patch_id), ctx.step_id)
        results: list[dict[str, Any]] = []
        failure: str | None = None
        async with applied(
            store, p, run_id=ctx.run_id, step_id=ctx.step_id, attempt=ctx.attempt
        ) as wt:
            for command in commands:
                line = _sandboxed(ctx, command, wt, network) if sandbox == "bwrap" else command
                result = await _run_one(ctx, line, wt.path, params.get("env"), timeout)
                result["command"] = command
                results.append(result)
                if result["exit_code"] != 0:
                    failure = (
                        f"gate failed: `{command}` exited with {result['exit_code']} "
                        f"on patch {p.id[:12]}:\n{result['log_tail']}"
                    )
                    break
        summary = [{k: v for k, v in r.items() if k != "log_tail"} for r in results]
        if failure is not None:
            await judge(store, p, passed=False, reason=failure.split("\n", 1)[0])
            ctx.emit(EventType.GATE_FAILED, {"patch": p.id, "commands": summary}, Level.WARNING)
            raise GateFailed(failure, output={"commands": results})
        await judge(store, p, passed=True, reason=f"gate {ctx.step_id!r} passed")
        ctx.emit(EventType.GATE_PASSED, {"patch": p.id, "commands": summary})
        return {"passed": True, "patch": p.id, "commands": results}


def _commands(ctx: StepContext, params: Mapping[str, Any]) -> list[str]:
    one, many = params.get("command"), params.get("commands")
    if (one is None) == (many is None):
        raise FatalStepError(
            f"step {ctx.step_id!r}: give the gate either with.command or with.commands"
        )
    found = [one] if one is not None else many
    if (
        not isinstance(found, list)
        or not found
        or not all(isinstance(c, str) and c.strip() for c in found)
    ):
        raise FatalStepError(
            f"step {ctx.step_id!r}: with.commands must be a list of non-empty command strings"
        )
    return found


def _sandboxed(ctx: StepContext, command: str, wt: Worktree, network: bool) -> str:
    """``command`` as a shell line that runs it inside bubblewrap, only the worktree writable."""
    from runwright.agents.sandbox import SandboxSpec, find_bwrap, wrap

    bwrap = find_bwrap(ctx.env, where=f"step {ctx.step_id!r}")
    inner = ("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command)
    # The repository stays readable (the worktree's git metadata lives in it), even under /tmp.
    spec = SandboxSpec(writable=(wt.path,), readable=(wt.repo,), network=network)
    return shlex.join(wrap(bwrap, inner, spec, cwd=wt.path))


async def _run_one(
    ctx: StepContext, command: str, cwd: Path, env: Any, timeout: float | None
) -> dict[str, Any]:
    from runwright.steps.shell import CommandFailed, ShellStep

    started = time.monotonic()
    params = {"run": command, "cwd": str(cwd), "env": env, "shell": "bash"}
    try:
        async with asyncio.timeout(timeout):
            output = await ShellStep().run(ctx, params)
    except CommandFailed as exc:
        output = exc.output
    except TimeoutError:
        output = {"stdout": "", "stderr": f"timed out after {timeout:g}s", "exit_code": -9}
    text = (output.get("stdout") or "") + (output.get("stderr") or "")
    tail = "\n".join(ctx.redactor.redact(text).rstrip("\n").splitlines()[-TAIL_LINES:])
    return {
        "command": command,
        "exit_code": output["exit_code"],
        "duration_s": round(time.monotonic() - started, 3),
        "log_tail": tail,
    }
