"""Schema migrations: numbered SQL files per dialect, applied in order, recorded once.

Both dialects ship the same version numbers; each file holds that dialect's
spelling of the same change (a test checks they produce the same tables).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
DIALECTS = ("sqlite", "postgresql")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def statements(self) -> list[str]:
        """The file's statements (split on ``;``; migrations hold no procedural code)."""
        lines = [ln for ln in self.sql.splitlines() if not ln.lstrip().startswith("--")]
        return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def migrations(dialect: str) -> list[Migration]:
    """All migrations shipped for ``dialect``, in version order."""
    folder = resources.files("runwright.store") / "migrations" / dialect
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    return found


def latest_version(dialect: str) -> int:
    return max((m.version for m in migrations(dialect)), default=0)
