"""Per-run execution context, and the template context a step renders against."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runwright.cachekey import FileHasher
from runwright.engine.commit import Committer
from runwright.engine.plan import Plan
from runwright.states import AttemptState
from runwright.store.base import Store
from runwright.store.records import NO_ITEM, AttemptRecord
from runwright.workspace import Workspace

if TYPE_CHECKING:
    from runwright.config import LoadedConfig
    from runwright.costs.policy import SpendPolicy
    from runwright.engine.governor import Governor

#: Receives a running step's activity text: (step id, item, text).
ProgressSink = Callable[[str, int | None, str], None]

#: Outputs kept in memory per worker; older ones are re-read from the store.
#: Bounded so a 100,000-step run does not hold its whole history in memory.
OUTPUT_CACHE_SIZE = 2048


@dataclass(slots=True)
class RunContext:
    """What a worker needs to execute attempts of one run."""

    run_id: str
    plan: Plan
    committer: Committer
    inputs: dict[str, Any]
    env: Mapping[str, str]
    pipeline_dir: Path
    workspace_root: Path
    no_cache: bool = False
    workspace: Workspace | None = None
    #: The project configuration, passed to step kinds (never read by the engine itself).
    config: LoadedConfig | None = None
    #: Shows a step's activity (step id, item, text) on the display of this process, if
    #: it has one; never stored (``StepContext.progress``).
    progress: ProgressSink | None = None
    #: Decides what each step may do (trust levels); ``None``: everything is allowed.
    governor: Governor | None = None
    _outputs: OrderedDict[str, tuple[AttemptState, Any]] = field(default_factory=OrderedDict)
    #: The run's spending policy, by the trust level's cap (built once, not per attempt).
    spend_policies: dict[tuple[float, str] | None, SpendPolicy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workspace = Workspace(self.workspace_root)

    def remember(self, step_id: str, state: AttemptState, output: Any) -> None:
        """Keep a just-committed step result for dependents executed by this worker."""
        self._outputs[step_id] = (state, output)
        if len(self._outputs) > OUTPUT_CACHE_SIZE:
            self._outputs.popitem(last=False)

    async def template_context(self, store: Store, a: AttemptRecord) -> dict[str, Any]:
        """The ``inputs``/``steps``/``env``/``item``/``index`` context for one attempt."""
        step = self.plan.steps[a.step_id]
        steps: dict[str, dict[str, Any]] = {}
        missing = [r for r in step.references if r not in self._outputs]
        if missing:
            async with store.transaction() as tx:
                states = await tx.node_states(self.run_id, missing)
                outs = await tx.outputs(self.run_id, [(r, NO_ITEM) for r in missing])
            for r in missing:
                self.remember(r, states.get(r, AttemptState.PENDING), outs.get((r, NO_ITEM)))
        for r in step.references:
            state, output = self._outputs[r]
            steps[r] = {"output": output, "status": str(state)}
        ctx: dict[str, Any] = {"inputs": self.inputs, "steps": steps}
        if self.plan.compiled.uses_env(a.step_id):
            ctx["env"] = self.env
        if self.plan.compiled.uses_hash_files(a.step_id):
            ctx["hash_files"] = FileHasher(self.pipeline_dir)
        if a.item != NO_ITEM:
            payload = a.payload
            if payload is None:  # a retry's attempt carries none: the first one's has it
                async with store.transaction() as tx:
                    payload = await tx.item_payload(self.run_id, a.step_id, a.item)
            ctx["item"] = None if payload is None else json.loads(payload)
            ctx["index"] = a.item
        return ctx

    async def need_states(self, store: Store, step_id: str) -> dict[str, AttemptState]:
        needs = self.plan.steps[step_id].needs
        known = {n: self._outputs[n][0] for n in needs if n in self._outputs}
        unknown = [n for n in needs if n not in known]
        if unknown:
            async with store.transaction() as tx:
                known.update(await tx.node_states(self.run_id, unknown))
        return known
