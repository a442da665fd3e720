"""Finding and loading ``runwright.toml`` with located errors (``file:line:col: field: …``)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from runwright.config.find import CONFIG_ENV, CONFIG_NAME, find_config
from runwright.config.locate import Spot, TomlLocator
from runwright.config.models import ProjectConfig, with_builtin_providers
from runwright.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "CONFIG_NAME",
    "LoadedConfig",
    "find_config",
    "load_config",
    "parse_config",
]

_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """The effective project configuration and where it came from."""

    config: ProjectConfig
    #: The file read, or ``None`` when there is none (built-in defaults only).
    path: Path | None = None
    #: How the file was chosen: ``--config``, ``env RUNWRIGHT_CONFIG``, ``found in DIR``.
    found_by: str = "none"
    _locator: TomlLocator | None = field(default=None, repr=False, compare=False)

    @classmethod
    def empty(cls) -> LoadedConfig:
        """No file: the built-in providers and nothing else."""
        return cls(config=ProjectConfig.model_validate(with_builtin_providers({})))

    def source(self, path: tuple[str | int, ...]) -> str:
        """``runwright.toml:LINE`` when ``path`` was written in the file, else ``default``."""
        if self._locator is None or self.path is None:
            return "default"
        spot = self._locator.written(path)
        return f"{self.path.name}:{spot.line}" if spot else "default"


def load_config(path: Path | None, *, found_by: str = "--config") -> LoadedConfig:
    """Read and validate ``path``; ``None`` gives the built-in defaults."""
    if path is None:
        return LoadedConfig.empty()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc
    return parse_config(text, path=path, found_by=found_by)


def parse_config(text: str, *, path: Path, found_by: str = "--config") -> LoadedConfig:
    """Validate the TOML ``text`` of ``path``; every problem is one located line."""
    import tomllib  # only when there is a file: most runs have none

    name = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = _TOML_AT.search(str(exc))
        where = f"{name}:{at.group(1)}:{at.group(2)}" if at else name
        what = _TOML_AT.sub("", str(exc)).strip()
        raise ConfigError(
            f"{where}: not valid TOML: {what}; fix the syntax", problems=[f"{where}: {what}"]
        ) from exc
    locator = TomlLocator(text)
    problems: list[tuple[Spot | None, str]] = []
    config: ProjectConfig | None = None
    try:
        config = ProjectConfig.model_validate(with_builtin_providers(raw))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            if loc and loc[-1] == "[key]":
                # A table's name was wrong ([trust.levels.boss]): point at the name itself.
                loc = loc[:-1]
            problems.append((locator.nearest(loc), f"{_label(loc)}: {_message(error, loc)}"))
    if config is not None:
        for alias, model in config.models.items():
            for i, ref in enumerate(model.candidates):
                provider = ref.partition(":")[0]
                if provider not in config.providers:
                    known = ", ".join(sorted(config.providers))
                    loc = ("models", alias, "candidates", i)
                    problems.append(
                        (
                            locator.nearest(loc),
                            f"{_label(loc)}: provider {provider!r} in {ref!r} is not configured; "
                            f"add a [providers.{provider}] table or use one of: {known}",
                        )
                    )
    if problems:
        located = {
            (s.line, s.column, f"{name}:{s.line}:{s.column}: {m}") if s else (0, 0, f"{name}: {m}")
            for s, m in problems
        }
        ordered = [line for *_, line in sorted(located)]
        raise ConfigError("\n".join(ordered), problems=ordered, path=name)
    assert config is not None
    config = _anchor_model_files(config, path.parent)
    return LoadedConfig(config=config, path=path, found_by=found_by, _locator=locator)


def _anchor_model_files(config: ProjectConfig, base: Path) -> ProjectConfig:
    """Relative ``model_file``/``model_files`` paths made absolute from the config's directory.

    Done once here so that every later reader (the local provider, cache keys) sees the
    same file whatever the working directory.
    """
    providers = {}
    for name, p in config.providers.items():
        if p.model_file is None and not p.model_files:
            providers[name] = p
            continue
        providers[name] = p.model_copy(
            update={
                "model_file": _anchor(base, p.model_file) if p.model_file else None,
                "model_files": {k: _anchor(base, v) for k, v in p.model_files.items()},
            }
        )
    return config.model_copy(update={"providers": providers})


def _anchor(base: Path, name: str) -> str:
    return str((base / Path(name).expanduser()).resolve())


def _label(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f'."{part}"' if out else f'"{part}"'
    return out or "config"


_HINTS = {
    "api_key": "keys are never written in runwright.toml; export the key and set "
    'api_key_env = "VARIABLE_NAME"',
}


def _message(error: Any, loc: tuple[str | int, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        hint = _HINTS.get(str(key), "remove it or check its spelling")
        return f"unknown key {key!r}; {hint}"
    if kind == "missing":
        return "is required; add it"
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        return f"{msg}, not {error.get('input')!r}{_did_you_mean(error)}"
    return msg


def _did_you_mean(error: Any) -> str:
    """``"; did you mean 'intern'?"`` when the wrong value is close to an allowed one."""
    word = error.get("input")
    allowed = re.findall(r"'([^']*)'", str((error.get("ctx") or {}).get("expected", "")))
    if not isinstance(word, str) or not allowed:
        return ""
    match = difflib.get_close_matches(word, allowed, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""
