"""Test helpers for code that uses runwright.

:func:`memory_store` gives a complete, isolated store in memory for fast unit
tests of the engine. It is the SQLite store on ``:memory:`` rather than a
hand-written dict fake: one implementation of the transaction semantics means a
fake can never disagree with the real thing.
"""

from __future__ import annotations

from runwright.store.sqlite import SqliteStore


def memory_store() -> SqliteStore:
    """A fresh, migrated, in-memory store."""
    return SqliteStore(":memory:")
