"""One typed settings object, built at the entry point and passed down."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from runwright.engine.faults import Fault
from runwright.errors import ConfigError

if TYPE_CHECKING:
    from runwright.config import LoadedConfig

DEFAULT_STATE_DIR = ".runwright"
DEFAULT_DB_NAME = "runwright.db"
DEFAULT_CONCURRENCY = 4
#: Seconds a claimed attempt stays its worker's without a heartbeat.
DEFAULT_LEASE_SECONDS = 30.0


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
    #: Crash tests only (RUNWRIGHT_FAULT): where a worker kills its own process.
    fault: Fault | None = None
    #: ``runwright.toml``, read once here; ``None``: no file (built-in providers only).
    config: LoadedConfig | None = None

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
        config: Path | None = None,
        search_from: Path | None = None,
    ) -> Settings:
        """Read the environment and ``runwright.toml`` once.

        The config file is ``config`` (``--config``), else ``RUNWRIGHT_CONFIG``, else the
        first ``runwright.toml`` in ``search_from`` (the pipeline's directory; default
        ``cwd``) or one of its parents.
        """
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
        fault = env.get("RUNWRIGHT_FAULT")
        from runwright.config import find_config

        path, found_by = find_config(start=search_from or cwd, explicit=config, env=env)
        loaded = None
        if path is None:
            # No file: the built-in providers, without building the config models.
            from runwright.config.builtin import builtin_api_key_envs

            key_envs = builtin_api_key_envs()
        else:
            from runwright.config import load_config

            loaded = load_config(path, found_by=found_by)
            key_envs = loaded.config.api_key_envs()
        # Keys live in the variables the providers name: those values are secrets too.
        names = tuple(dict.fromkeys((*names, *key_envs)))
        return cls(
            database_url=url,
            project_dir=cwd,
            env=dict(env),
            synchronous=synchronous,
            secret_names=names,
            fault=Fault.parse(fault) if fault else None,
            config=loaded,
        )
