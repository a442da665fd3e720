"""The built-in policy table, and the effective one with ``[trust.levels.NAME]`` applied."""

from __future__ import annotations

from dataclasses import dataclass

from runwright.config.trust import (
    LEVELS,
    Confinement,
    LevelName,
    LevelPolicy,
    PatchRule,
    TrustConfig,
)


@dataclass(frozen=True, slots=True)
class Allowance:
    """Everything one level allows (no field unset)."""

    level: LevelName
    shell: Confinement
    agent: Confinement
    write_workspace: bool
    network: bool
    apply_patch: PatchRule
    spend_usd: float | None

    def to_json(self) -> dict[str, object]:
        return {
            "level": self.level,
            "shell": self.shell,
            "agent": self.agent,
            "write_workspace": self.write_workspace,
            "network": self.network,
            "apply_patch": self.apply_patch,
            "spend_usd": self.spend_usd,
        }


#: student: model calls only. intern: agents and shell only inside the sandbox, every
#: patch approved by a person. supervised: gated patches apply on their own, spending
#: bounded. autonomous: everything (the default, so pipelines written before trust
#: levels existed run as they did).
BUILTIN: dict[LevelName, Allowance] = {
    "student": Allowance("student", "no", "no", False, False, "no", 1.0),
    "intern": Allowance("intern", "sandbox", "sandbox", True, False, "approval", 5.0),
    "supervised": Allowance("supervised", "yes", "yes", True, True, "yes", 25.0),
    "autonomous": Allowance("autonomous", "yes", "yes", True, True, "yes", None),
}


def allowance(level: LevelName, config: TrustConfig) -> Allowance:
    """The level's allowance: the built-in row with the config's overrides applied."""
    base = BUILTIN[level]
    own: LevelPolicy | None = config.levels.get(level)
    if own is None:
        return base
    return Allowance(
        level,
        own.shell or base.shell,
        own.agent or base.agent,
        base.write_workspace if own.write_workspace is None else own.write_workspace,
        base.network if own.network is None else own.network,
        own.apply_patch or base.apply_patch,
        base.spend_usd if "spend_usd" not in own.model_fields_set else own.spend_usd,
    )


def next_level(level: LevelName) -> LevelName | None:
    """The level above ``level`` (``None`` at the top)."""
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None
