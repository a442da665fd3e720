"""``[trust]`` in runwright.toml: the default trust level, the policy table, graduation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The trust levels, least trusted first.
LevelName = Literal["student", "intern", "supervised", "autonomous"]
LEVELS: tuple[LevelName, ...] = ("student", "intern", "supervised", "autonomous")

#: ``yes``: allowed; ``sandbox``: allowed only inside the sandbox (``sandbox: bwrap``);
#: ``no``: refused.
Confinement = Literal["yes", "sandbox", "no"]
#: ``approval``: every patch waits for a person before it is applied.
PatchRule = Literal["yes", "approval", "no"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LevelPolicy(_Strict):
    """What a step at one trust level may do. Unset fields keep the built-in default."""

    shell: Confinement | None = Field(None, description="shell and python steps, gate commands")
    agent: Confinement | None = Field(None, description="coding agents")
    write_workspace: bool | None = Field(None, description="write files (workspace, worktrees)")
    network: bool | None = Field(None, description="a step's own code reaching the network")
    apply_patch: PatchRule | None = Field(None, description="apply patches to a branch")
    spend_usd: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="USD one run may spend (models, agents)"
    )


class Graduation(_Strict):
    """What an agent preset's record must show before it is proposed for the next level."""

    episodes: int = Field(10, ge=1, description="patches proposed, at least")
    min_pass_rate: float = Field(0.8, ge=0, le=1, description="gated patches that passed")
    max_intervention_rate: float = Field(
        0.2, ge=0, le=1, description="patches a person rejected or rolled back"
    )


class TrustConfig(_Strict):
    """``[trust]``: ``default`` applies where neither the spec nor a promotion names a level."""

    default: LevelName = "autonomous"
    levels: dict[LevelName, LevelPolicy] = Field(default_factory=dict)
    graduation: Graduation = Field(default_factory=Graduation)
