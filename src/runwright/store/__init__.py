"""Storage: the Store protocol and its implementations."""

from __future__ import annotations

from pathlib import Path

from runwright.errors import ConfigError
from runwright.store.base import Store, Transaction
from runwright.store.records import NO_ITEM

__all__ = ["NO_ITEM", "Store", "Transaction", "open_store"]


def open_store(url: str, *, synchronous: str = "normal", create: bool = True) -> Store:
    """Open the store a database URL or path names.

    ``postgresql://…`` (needs the ``postgres`` extra), ``sqlite:///path``, a plain
    file path, or ``:memory:``. With ``create=False`` a missing SQLite file raises
    :class:`~runwright.errors.DatabaseMissing` instead of being created.
    """
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from runwright.store.postgres import PostgresStore
        except ImportError as exc:
            raise ConfigError(
                f"{url.split('://')[0]}:// needs the PostgreSQL driver: "
                "pip install 'runwright[postgres]'"
            ) from exc
        return PostgresStore(url)
    from runwright.store.sqlite import SqliteStore

    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
    elif url.startswith("sqlite://"):
        path = url[len("sqlite://") :]
    elif "://" in url:
        scheme = url.split("://", 1)[0]
        raise ConfigError(
            f"unsupported database URL scheme {scheme!r} in {url!r}; use postgresql://host/db, "
            f"sqlite:///path/to.db or a file path"
        )
    else:
        path = url
    if synchronous not in ("normal", "full"):
        raise ConfigError(f"synchronous must be 'normal' or 'full', not {synchronous!r}")
    return SqliteStore(
        Path(path) if path != ":memory:" else path,
        synchronous=synchronous,  # type: ignore[arg-type]
        create=create,
    )
