"""One attempt of an agent step: worktree, launch (or recovery), cost, diff, patch.

1. The attempt gets its own git worktree on ``runwright/<run>/<step>/<attempt>``
   from ``base``; the user's working tree, index and HEAD are never touched.
2. If the attempt this one replaces was abandoned (its process died) after its
   agent had finished, the result on disk is recorded and the agent is not run
   again (``agent.recovered``).
3. Otherwise the agent runs: instructions in its file, environment allowlisted,
   optionally in bubblewrap, in its own process group, through the budget guard
   (worst case reserved, the reported cost settled). Its output is on disk the
   moment it exits.
4. The worktree's changes are committed on the branch and proposed to the patch
   ledger under the step's scope; a scope violation fails the step.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runwright.agents import instructions, records, transcripts
from runwright.agents.environment import agent_env
from runwright.agents.localmodel import resolve_local
from runwright.agents.preset import AgentRequest, AgentResult, Preset
from runwright.agents.presets import resolve_preset
from runwright.agents.process import AgentTimeout, Finished, run_process
from runwright.agents.records import Paths
from runwright.agents.reuse import history, worktree_name
from runwright.agents.sandbox import SandboxSpec, find_bwrap, private_tmp, wrap
from runwright.agents.task import AgentTask
from runwright.errors import FatalStepError, GitError, RegistryError, StepError
from runwright.events import EventType, Level
from runwright.states import AttemptState
from runwright.steps.base import StepContext
from runwright.store.records import NO_ITEM

if TYPE_CHECKING:
    from runwright.repo.worktree import Worktree

#: Characters of the agent's text kept in a failure message.
_TEXT_TAIL = 2000


class AgentFailed(StepError):
    """The agent exited with an error; ``output`` holds what it reported."""

    def __init__(self, message: str, *, output: dict[str, Any]) -> None:
        super().__init__(message, output=output)
        self.output = output


@dataclass(frozen=True, slots=True)
class _Launched:
    finished: Finished | None
    timeout: AgentTimeout | None = None


async def run_agent(ctx: StepContext, task: AgentTask) -> dict[str, Any]:
    """Run one attempt of an agent step; its output per the step kind's contract."""
    from runwright.repo.git import resolve, toplevel
    from runwright.repo.worktree import branch_name, create, worktree_root

    where = f"step '{ctx.step_id}'"
    config = ctx.config.config if ctx.config is not None else None
    try:
        preset = resolve_preset(task.agent, config)
    except RegistryError as exc:
        raise FatalStepError(f"{where}: {exc.message}") from exc
    preset = await resolve_local(preset, config, where=where)
    bwrap = find_bwrap(ctx.env, where=where) if task.sandboxed else None
    try:
        repo = await toplevel(task.repo or ctx.pipeline_dir)
        base = await resolve(repo, task.base)
    except GitError as exc:
        # No repository or no such ref: retrying cannot help.
        raise FatalStepError(f"{where}: {exc.message}") from exc
    root = worktree_root(repo)
    previous, done = await history(ctx, root)

    recovered = await _recover(ctx, repo, base, root, previous, preset)
    if recovered is not None:
        wt, finished = recovered
        outcome = preset.parse(finished.stdout, finished.stderr, finished.exit_code)
        ctx.emit(
            EventType.AGENT_RECOVERED,
            {"agent": preset.name, "branch": wt.branch, "exit_code": finished.exit_code},
        )
    else:
        name = worktree_name(ctx.run_id, ctx.step_id, ctx.attempt, ctx.item)
        branch = branch_name(ctx.run_id, ctx.step_id, ctx.attempt, ctx.item)
        wt = await create(repo, base=base, branch=branch, name=name, reuse=done)
        session = await _session(ctx, task, preset, root, previous)
        finished = await _launch(ctx, task, preset, wt, Paths(root, name), session, bwrap)
        outcome = preset.parse(finished.stdout, finished.stderr, finished.exit_code)
    finished_data: dict[str, Any] = {
        "agent": preset.name,
        "exit_code": finished.exit_code,
        "is_error": outcome.is_error,
        "session_id": outcome.session_id,
        "cost_usd": outcome.cost_usd,
        "duration_s": finished.duration_s,
    }
    env = agent_env(ctx.env, task.env, extra={}, where=where)
    kept = await transcripts.keep(ctx, preset, outcome.session_id, wt.path, env)
    if kept is not None:
        finished_data[transcripts.FIELD] = kept
    ctx.emit(
        EventType.AGENT_FINISHED,
        finished_data,
        Level.WARNING if outcome.is_error else Level.INFO,
    )
    output = _output(preset, outcome, finished, wt, base)
    if outcome.is_error:
        tail = outcome.text[-_TEXT_TAIL:]
        raise AgentFailed(
            f"{where}: the agent {preset.name} failed (exit code {finished.exit_code})"
            + (f": {tail}" if tail else ""),
            output=output,
        )
    if task.instructions:
        # Only then did runwright write the instruction file; an agent's own edit of it
        # (asked for, say, in the prompt) belongs in its patch.
        await instructions.restore_from_base(wt.path, base, preset)
    await instructions.remove_scratch(preset, wt.path)
    return await _propose(ctx, task, preset, wt, output)


async def _launch(
    ctx: StepContext,
    task: AgentTask,
    preset: Preset,
    wt: Worktree,
    paths: Paths,
    session: str | None,
    bwrap: str | None,
) -> Finished:
    where = f"step '{ctx.step_id}'"
    prompt = task.prompt
    if ctx.feedback:
        prompt += "\n\nYour previous attempt was sent back. What failed:\n\n" + ctx.feedback.strip()
    placed = instructions.place(
        task.instructions, preset, worktree=wt.path, outside=paths.instructions
    )
    limit = task.max_budget_usd or preset.max_budget_usd
    room = await ctx.guard.headroom() if ctx.guard is not None else None
    if room is not None:
        limit = max(room, 0.0) if limit is None else min(limit, max(room, 0.0))
    paths.prompt.parent.mkdir(parents=True, exist_ok=True)
    paths.prompt.write_text(prompt, encoding="utf-8")
    resumed = session if preset.supports_resume else None
    request = AgentRequest(
        prompt=prompt,
        cwd=wt.path,
        session=resumed,
        new_session=str(uuid.uuid4()) if resumed is None and preset.assigns_session else None,
        allowed_tools=task.allowed_tools,
        max_turns=task.max_turns,
        model=task.model,
        max_budget_usd=limit if preset.takes_budget else None,
        instructions_file=placed.path if not placed.in_worktree else None,
        prompt_file=paths.prompt,
    )
    ours = {
        "RUNWRIGHT_RUN_ID": ctx.run_id,
        "RUNWRIGHT_STEP_ID": ctx.step_id,
        "RUNWRIGHT_ATTEMPT": str(ctx.attempt),
    }
    env = agent_env(ctx.env, task.env, extra=ours, where=where)
    # With the environment the agent gets: that is where its CLI keeps its sessions.
    prepared = await asyncio.to_thread(preset.prepare, request, env)
    if resumed is not None and prepared.session is None:
        # Not on this machine: the record an earlier agent run kept in the store, if any.
        record = await transcripts.saved(ctx, resumed)
        if record is not None:
            prepared = await asyncio.to_thread(preset.prepare, request, env, record)
    request = prepared
    lost = resumed if resumed is not None and request.session is None else None
    invocation = preset.invocation(request)
    env.update(invocation.env)
    env.update(ours)
    argv = invocation.argv
    if bwrap is not None:
        spec = SandboxSpec(
            writable=(wt.path, *_git_admin(wt.path), *task.writable),
            readable=(wt.repo,),
            network=task.network,
            tmp=private_tmp(wt.path),
        )
        argv = wrap(bwrap, argv, spec, cwd=wt.path)
        env["TMPDIR"] = str(spec.tmp)

    async def launch() -> _Launched:
        # Only once the budget let it start: a refused agent has no agent.started.
        started: dict[str, Any] = {
            "agent": preset.name,
            "branch": wt.branch,
            "base": wt.base,
            "sandbox": task.sandbox,
            "network": task.network or not task.sandboxed,
            "session": request.session,
            "max_budget_usd": request.max_budget_usd,
        }
        if lost is not None:
            # Said where a person looks: the conversation starts over, the prompt does not.
            started["session_not_found"] = lost
        ctx.emit(
            EventType.AGENT_STARTED, started, Level.WARNING if lost is not None else Level.INFO
        )
        records.record_start(
            paths, agent=preset.name, session=request.session or request.new_session
        )
        try:
            finished = await run_process(
                argv,
                cwd=wt.path,
                env=env,
                ctx=ctx,
                stdin=paths.prompt if invocation.stdin is not None else None,
                timeout=task.timeout,
            )
        except AgentTimeout as exc:
            # It ran and may have spent: settled as unknown, then the step fails.
            return _Launched(None, exc)
        records.record_result(paths, agent=preset.name, finished=finished)
        return _Launched(finished)

    def cost_of(launched: _Launched) -> float | None:
        f = launched.finished
        return None if f is None else preset.parse(f.stdout, f.stderr, f.exit_code).cost_usd

    if ctx.guard is None:
        launched = await launch()
    else:
        from runwright.costs.guard import Target

        launched = await ctx.guard.spend(
            Target("agent", preset.name), worst_usd=limit, call=launch, cost_of=cost_of
        )
    if launched.timeout is not None:
        raise launched.timeout
    assert launched.finished is not None
    return launched.finished


def _git_admin(worktree: Path) -> tuple[Path, ...]:
    """The worktree's own git directory (index, HEAD), so git works inside the sandbox."""
    dot_git = worktree / ".git"
    try:
        text = dot_git.read_text(encoding="utf-8")
    except OSError:
        return ()
    if not text.startswith("gitdir:"):
        return ()
    path = Path(text.split(":", 1)[1].strip())
    return (path if path.is_absolute() else (worktree / path).resolve(),)


async def _recover(
    ctx: StepContext,
    repo: Path,
    base: str,
    root: Path,
    previous: tuple[int, AttemptState] | None,
    preset: Preset,
) -> tuple[Worktree, Finished] | None:
    """The finished run of this attempt, or of the abandoned one it replaces, if on disk."""
    from runwright.repo.worktree import branch_name, create

    numbers = [ctx.attempt]
    if previous is not None and previous[1] is AttemptState.ABANDONED:
        numbers.append(previous[0])
    for number in numbers:
        name = worktree_name(ctx.run_id, ctx.step_id, number, ctx.item)
        if not (root / name).is_dir():
            continue
        finished = records.load_result(Paths(root, name))
        if finished is None:
            continue
        branch = branch_name(ctx.run_id, ctx.step_id, number, ctx.item)
        return await create(repo, base=base, branch=branch, name=name), finished
    return None


async def _session(
    ctx: StepContext,
    task: AgentTask,
    preset: Preset,
    root: Path,
    previous: tuple[int, AttemptState] | None,
) -> str | None:
    """The session to continue: ``resume`` finds the previous attempt's; else an id or none.

    An attempt replacing an abandoned one continues that one's session where the
    preset supports it, whatever ``session`` says: the agent's work so far is kept.
    """
    if task.session not in ("new", "resume"):
        return task.session
    if previous is None or not preset.supports_resume:
        return None
    if task.session == "new" and previous[1] is not AttemptState.ABANDONED:
        return None
    return await _session_of(ctx, previous[0], root)


async def _session_of(ctx: StepContext, number: int, root: Path) -> str | None:
    # The store first (the attempt may have run on another worker), then the disk.
    if ctx.store is not None:
        events = await ctx.store.events(
            ctx.run_id, types=[str(EventType.AGENT_FINISHED)], step_id=ctx.step_id
        )
        for event in reversed(events):
            if event.attempt == number and event.item == ctx.item:
                session = event.data.get("session_id")
                if isinstance(session, str) and session:
                    return session
    paths = Paths(root, worktree_name(ctx.run_id, ctx.step_id, number, ctx.item))
    return records.started_session(paths)


def _output(
    preset: Preset, outcome: AgentResult, finished: Finished, wt: Worktree, base: str
) -> dict[str, Any]:
    return {
        "text": outcome.text,
        "patch": None,
        "files": [],
        "diffstat": {"files": 0, "added": 0, "removed": 0},
        "session_id": outcome.session_id,
        "cost_usd": outcome.cost_usd,
        "exit_code": finished.exit_code,
        "branch": wt.branch,
        "base": base,
        "agent": preset.name,
    }


async def _propose(
    ctx: StepContext, task: AgentTask, preset: Preset, wt: Worktree, output: dict[str, Any]
) -> dict[str, Any]:
    from runwright.patches.ledger import propose
    from runwright.patches.scope import Scope
    from runwright.patches.states import PatchState
    from runwright.repo.diff import snapshot

    where = f"step '{ctx.step_id}'"
    # The instruction file is put back already; excluded too, whatever the agent did to it.
    exclude = (preset.instruction_file,) if preset.instruction_file else ()
    message = f"runwright: {ctx.step_id} attempt {ctx.attempt} ({preset.name})"
    diff = await snapshot(wt, message, exclude=exclude)
    output["files"] = list(diff.files)
    output["diffstat"] = {"files": len(diff.files), "added": diff.added, "removed": diff.removed}
    if diff.empty or ctx.store is None:
        return output
    scope = None
    if task.scope is not None:
        scope = Scope(write=task.scope.write, max_lines_changed=task.scope.max_lines_changed)
    record = await propose(
        ctx.store,
        run_id=ctx.run_id,
        step_id=ctx.step_id,
        item=ctx.item,
        attempt=ctx.attempt,
        attempt_id=await _attempt_id(ctx),
        agent=preset.name,
        repo=wt.repo,
        base=wt.base,
        branch=wt.branch,
        diff=diff,
        scope=scope,
    )
    output["patch"] = record.id
    if record.state == PatchState.REJECTED:
        raise FatalStepError(
            f"{where}: the agent's patch {record.id[:12]} is outside the step's scope and was "
            f"rejected: {record.reason}; widen with.scope or tell the agent what it may change"
        )
    return output


async def _attempt_id(ctx: StepContext) -> int | None:
    if ctx.store is None:
        return None
    item = NO_ITEM if ctx.item is None else ctx.item
    for a in await ctx.store.attempts(ctx.run_id, step_id=ctx.step_id, item=item):
        if a.number == ctx.attempt:
            return a.id
    return None
