"""Storage: the Store protocol and its implementations."""

from __future__ import annotations

from pathlib import Path

from runwright.errors import ConfigError
from runwright.store.base import Store, Transaction
from runwright.store.records import NO_ITEM

__all__ = ["NO_ITEM", "Store", "Transaction", "open_store"]


def open_store(url: str, *, synchronous: str = "normal") -> Store:
    """Open the store a database URL or path names.

    ``sqlite:///path``, a plain file path, or ``:memory:``.
    """
    from runwright.store.sqlite import SqliteStore

    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
    elif url.startswith("sqlite://"):
        path = url[len("sqlite://") :]
    elif "://" in url:
        scheme = url.split("://", 1)[0]
        raise ConfigError(
            f"unsupported database URL scheme {scheme!r} in {url!r}; use sqlite:///path/to.db "
            f"or a file path"
        )
    else:
        path = url
    if synchronous not in ("normal", "full"):
        raise ConfigError(f"synchronous must be 'normal' or 'full', not {synchronous!r}")
    return SqliteStore(Path(path) if path != ":memory:" else path, synchronous=synchronous)  # type: ignore[arg-type]
