"""One typed settings object, built at the entry point and passed down."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runwright.errors import ConfigError

DEFAULT_STATE_DIR = ".runwright"
DEFAULT_DB_NAME = "runwright.db"
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything below the entry point reads from here, never from the environment."""

    database_url: str
    project_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    #: SQLite ``synchronous``: "normal" (WAL; commits survive a process crash) or "full"
    #: (also fsyncs every commit; survives power loss).
    synchronous: str = "normal"
    #: Extra environment variable names whose values are secrets.
    secret_names: tuple[str, ...] = ()

    @property
    def database_label(self) -> str:
        """The database for messages: a SQLite path, or a URL without password or options."""
        from urllib.parse import urlsplit

        url = self.database_url
        if "://" not in url:
            return url
        parts = urlsplit(url)
        if parts.password is not None:
            host = parts.hostname or ""
            netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
            parts = parts._replace(netloc=netloc)
        return parts._replace(query="").geturl()

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        cwd: Path,
        db: str | None = None,
        durability: str | None = None,
    ) -> Settings:
        url = (
            db
            or env.get("RUNWRIGHT_DATABASE_URL")
            or str(cwd / DEFAULT_STATE_DIR / DEFAULT_DB_NAME)
        )
        mode = (durability or env.get("RUNWRIGHT_DURABILITY") or "normal").lower()
        synchronous = {"normal": "normal", "strict": "full", "full": "full"}.get(mode)
        if synchronous is None:
            raise ConfigError(f"durability must be 'normal' or 'strict', not {mode!r}")
        names = tuple(n for n in env.get("RUNWRIGHT_SECRET_ENV", "").split(",") if n)
        return cls(
            database_url=url,
            project_dir=cwd,
            env=dict(env),
            synchronous=synchronous,
            secret_names=names,
        )
