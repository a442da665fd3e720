"""The project configuration as the interfaces show it (``runwright config show``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runwright.config import LoadedConfig
from runwright.config.effective import Entry, entries
from runwright.settings import Settings


@dataclass(frozen=True, slots=True)
class ConfigView:
    """The effective configuration: the file read, how it was found, every value."""

    path: str | None
    found_by: str
    entries: list[Entry]

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "found_by": self.found_by,
            "values": [e.to_json() for e in self.entries],
        }


def show_config(settings: Settings) -> ConfigView:
    """The configuration ``settings`` was built with, secrets masked, each value's source."""
    loaded = settings.config or LoadedConfig.empty()
    return ConfigView(
        path=str(loaded.path) if loaded.path else None,
        found_by=loaded.found_by,
        entries=entries(loaded, settings.env),
    )
