"""The table of agent presets: the built-ins, and the project's ``[agents.NAME]``.

Like step kinds, presets are components looked up by name; a built-in is
imported only when it is used. A project's table either adjusts a built-in
(``preset = "claude-code"`` with its own executable, args, model, limits) or
describes any CLI (``command = [...]``).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from typing import Any

from runwright.agents.preset import Preset
from runwright.config.agents import AgentConfig
from runwright.config.models import ProjectConfig
from runwright.errors import RegistryError

#: Built-in presets as "module:Class" (instances built with their defaults).
BUILTIN_PRESETS: dict[str, str] = {
    "claude-code": "runwright.agents.claude_code:ClaudeCode",
    "codex": "runwright.agents.codex:Codex",
    "aider": "runwright.agents.aider:Aider",
}


def preset_names(config: ProjectConfig | None = None) -> list[str]:
    """Every preset name a step may use, sorted."""
    return sorted({*BUILTIN_PRESETS, *(config.agents if config else {})})


def resolve_preset(name: str, config: ProjectConfig | None = None) -> Preset:
    """The preset ``with.agent: NAME`` means; an unknown name raises with a suggestion."""
    table = config.agents.get(name) if config is not None else None
    if table is not None:
        return _configured(name, table)
    spec = BUILTIN_PRESETS.get(name)
    if spec is None:
        known = preset_names(config)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" did you mean '{close[0]}'?" if close else ""
        raise RegistryError(
            f"unknown agent preset '{name}';{hint} known presets: {', '.join(known)}; "
            f'add your own in runwright.toml as [agents.{name}] command = ["...", "{{prompt}}"]',
            kind=name,
        )
    return _builtin(spec)


def _builtin(spec: str, **fields: Any) -> Preset:
    module_name, _, attr = spec.partition(":")
    cls: Any = getattr(importlib.import_module(module_name), attr)
    preset: Preset = cls(**fields)
    return preset


def _configured(name: str, table: AgentConfig) -> Preset:
    if table.command is not None:
        from runwright.agents.command import CommandPreset

        return CommandPreset(
            name=name,
            command=tuple(table.command),
            prompt_mode=table.prompt,
            result=table.result,
            resume_args=tuple(table.resume_args),
            model_args=tuple(table.model_args),
            max_turns_args=tuple(table.max_turns_args),
            budget_args=tuple(table.budget_args),
            tools_args=tuple(table.tools_args),
            args=tuple(table.args),
            text_field=table.text_field,
            cost_field=table.cost_field,
            session_field=table.session_field,
            error_field=table.error_field,
            instruction_file=table.instruction_file,
            model=table.model,
            max_budget_usd=table.max_budget_usd,
            scratch=tuple(table.scratch),
        )
    base = table.preset or ""
    spec = BUILTIN_PRESETS.get(base)
    if spec is None:
        raise RegistryError(
            f"[agents.{name}] preset = {base!r} is not a built-in preset; use one of "
            f"{', '.join(sorted(BUILTIN_PRESETS))}, or command = [...] for any CLI",
            kind=name,
        )
    preset = _builtin(spec, name=name)
    wanted: dict[str, Any] = {
        "executable": table.executable,
        "model": table.model,
        "max_budget_usd": table.max_budget_usd,
        "base_url": table.base_url,
        "instruction_file": table.instruction_file,
    }
    fields = {f.name for f in dataclasses.fields(preset)}  # type: ignore[arg-type]
    changes = {k: v for k, v in wanted.items() if v is not None and k in fields}
    if table.args:
        changes["args"] = tuple(table.args)
    if table.scratch:
        changes["scratch"] = (*preset.scratch, *table.scratch)
    unused = [k for k, v in wanted.items() if v is not None and k not in fields]
    if unused:
        raise RegistryError(
            f"[agents.{name}]: the {base} preset has no {', '.join(unused)}; remove it",
            kind=name,
        )
    out: Preset = dataclasses.replace(preset, **changes)  # type: ignore[type-var]
    return out
