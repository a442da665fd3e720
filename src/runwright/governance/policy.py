"""The trust policy of one run: each step's level, and the check before it acts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runwright.config.trust import LEVELS, LevelName, TrustConfig
from runwright.engine.governor import Verdict
from runwright.governance.levels import Allowance, allowance
from runwright.spec.models import Pipeline
from runwright.store.base import Store

#: What each capability means in a message ("may not <this>").
_WHAT = {
    "shell": "run commands",
    "agent": "run a coding agent",
    "write_workspace": "write files",
    "network": "reach the network",
    "apply_patch": "apply patches",
}


@dataclass(frozen=True, slots=True)
class StepLevel:
    """A step's trust level and what set it (for messages and the audit trail)."""

    level: LevelName
    source: str
    on_violation: str


class TrustPolicy:
    """Implements :class:`~runwright.engine.governor.Governor` for one run.

    A step's level is, first that applies: the step's ``trust``, the pipeline's
    ``trust``, the promotion of the step's agent preset (``runwright trust promote``),
    then ``[trust] default`` (``autonomous`` unless configured).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        config: TrustConfig,
        promotions: Callable[[], Awaitable[Mapping[str, LevelName]]] | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._config = config
        self._levels: dict[str, StepLevel] = {}
        # Promotions are read from the store on the first check that could use one.
        self._promotions = promotions
        self._resolve({})

    @staticmethod
    def needed(pipeline: Pipeline, config: TrustConfig) -> bool:
        """Whether any step of ``pipeline`` could be held back (else no check is needed)."""
        if "autonomous" in config.levels:
            return True
        if pipeline.trust not in (None, "autonomous"):
            return True
        if any(s.trust not in (None, "autonomous") for s in pipeline.steps):
            return True
        unset = pipeline.trust is None and any(
            s.trust is None and s.uses == "agent" for s in pipeline.steps
        )
        # An agent preset may have been promoted (or demoted) below the default.
        return config.default != "autonomous" or unset

    def _resolve(self, promoted: Mapping[str, LevelName]) -> None:
        pipeline, config = self._pipeline, self._config
        for step in pipeline.steps:
            on_violation = step.on_violation or pipeline.on_violation or "fail"
            preset = step.with_.get("agent") if step.uses == "agent" else None
            if step.trust is not None:
                level = StepLevel(step.trust, f"step {step.id!r}'s trust", on_violation)
            elif pipeline.trust is not None:
                level = StepLevel(pipeline.trust, "the pipeline's trust", on_violation)
            elif isinstance(preset, str) and preset in promoted:
                source = f"agent {preset!r}'s promotion (runwright trust)"
                level = StepLevel(promoted[preset], source, on_violation)
            else:
                level = StepLevel(config.default, "[trust] default", on_violation)
            self._levels[step.id] = level

    async def _load_promotions(self) -> None:
        load, self._promotions = self._promotions, None
        if load is not None:
            self._resolve(await load())

    def level(self, step_id: str) -> StepLevel:
        return self._levels[step_id]

    def allowance(self, step_id: str) -> Allowance:
        return allowance(self._levels[step_id].level, self._config)

    def spend_limit(self, step_id: str) -> tuple[float, str] | None:
        al = self.allowance(step_id)
        if al.spend_usd is None:
            return None
        return al.spend_usd, (
            f"trust level {al.level!r} (of step {step_id!r}), which allows "
            f"${al.spend_usd:g} per run ([trust.levels.{al.level}] spend_usd)"
        )

    async def check(self, step_id: str, kind: str, capabilities: frozenset[str]) -> Verdict:
        await self._load_promotions()
        sl = self._levels[step_id]
        al = allowance(sl.level, self._config)
        missing = _missing(al, capabilities)
        data: dict[str, Any] = {
            "level": sl.level,
            "set_by": sl.source,
            "kind": kind,
            "capabilities": sorted(capabilities),
        }
        if missing:
            what = " or ".join(missing)
            ask = sl.on_violation == "ask"
            message = (
                f"step {step_id!r} ({kind}) may not {what} at trust level {sl.level!r} "
                f"(set by {sl.source}); "
                + (
                    "it waits for a person's approval (runwright approve)"
                    if ask
                    else "raise the step's trust level, set on_violation: ask to have a "
                    "person approve it, or promote its agent with `runwright trust promote`"
                )
            )
            data.update(decision="asked" if ask else "denied", missing=missing)
            return Verdict(False, ask=ask, message=message, data=data)
        if "apply_patch" in capabilities and al.apply_patch == "approval":
            message = (
                f"step {step_id!r} applies a patch, and at trust level {sl.level!r} every "
                "patch needs a person's approval (runwright approve)"
            )
            data.update(decision="asked", missing=["apply_patch without approval"])
            return Verdict(False, ask=True, message=message, data=data)
        data["decision"] = "allowed"
        return Verdict(True, data=data)


def _missing(al: Allowance, caps: frozenset[str]) -> list[str]:
    missing: list[str] = []
    for name, rule in (("shell", al.shell), ("agent", al.agent)):
        if name not in caps or rule == "yes":
            continue
        if rule == "no":
            missing.append(_WHAT[name])
        elif "sandboxed" not in caps:
            missing.append(f"{_WHAT[name]} outside the sandbox (sandbox: bwrap)")
    if "write_workspace" in caps and not al.write_workspace:
        missing.append(_WHAT["write_workspace"])
    if "network" in caps and not al.network:
        missing.append(_WHAT["network"])
    if "apply_patch" in caps and al.apply_patch == "no":
        missing.append(_WHAT["apply_patch"])
    return missing


def promotions_loader(store: Store) -> Callable[[], Awaitable[Mapping[str, LevelName]]]:
    """Reads each agent preset's latest promotion (``runwright trust promote``)."""

    async def load() -> Mapping[str, LevelName]:
        async with store.transaction() as tx:
            grants = await tx.trust_grants()
        latest: dict[str, LevelName] = {}
        for g in grants:
            if g.level in LEVELS:
                latest[g.agent] = g.level
        return latest

    return load
