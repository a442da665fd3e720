"""The effective configuration as a list of values, each with where it came from.

What ``runwright config show`` prints. Keys are never in the file, only the names of
the variables holding them; still, any value under a secret-looking key is masked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runwright.config.loader import LoadedConfig
from runwright.redaction import MASK

# Like runwright.redaction's names, but on config keys; `*_env` keys hold variable names.
_SECRET_KEY = re.compile(r"(KEY|TOKEN|SECRET|PASSW(OR)?D|CREDENTIAL|AUTH|PRIVATE)", re.I)


@dataclass(frozen=True, slots=True)
class Entry:
    """One effective value: ``providers.openai.timeout = 30`` from ``runwright.toml:4``."""

    key: str
    value: Any
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "source": self.source}


def is_secret_key(name: str) -> bool:
    """Whether a config key's value must be masked when shown."""
    return bool(_SECRET_KEY.search(name)) and not name.lower().endswith("_env")


def entries(loaded: LoadedConfig, env: Mapping[str, str]) -> list[Entry]:
    """Every effective leaf value, masked, with its source (default / file:line / env)."""
    out: list[Entry] = []
    data = loaded.config.model_dump(mode="json")

    def walk(value: Any, path: tuple[str, ...], secret: bool) -> None:
        if isinstance(value, dict) and value:
            for key in sorted(value):
                walk(value[key], (*path, key), secret or is_secret_key(key))
            return
        source = loaded.source(path)
        if source == "default" and value in (None, {}, []):
            return  # an unset option says nothing; keep the listing to what is in effect
        shown = MASK if secret and value not in (None, "", {}) else value
        out.append(Entry(_dotted(path), shown, source))

    walk(data, (), False)
    for name, provider in sorted(loaded.config.providers.items()):
        if provider.api_key_env:
            present = bool(env.get(provider.api_key_env))
            out.append(
                Entry(
                    f"providers.{name}.api_key",
                    MASK if present else None,
                    f"env {provider.api_key_env}" + ("" if present else " (not set)"),
                )
            )
    out.sort(key=lambda e: e.key)
    return out


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else f'"{p}"' for p in path)
