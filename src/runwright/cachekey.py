"""Canonical JSON and cache keys.

A cache key is the sha256 of the canonical JSON of (step kind and version,
resolved inputs, code version). Values that have no canonical JSON form make
the key uncomputable: that is a loud :class:`CacheKeyError`, never a silent miss.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from runwright.errors import CacheKeyError


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CacheKeyError(f"{path} is {value}, which has no canonical JSON form")
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check(v, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise CacheKeyError(f"{path} has a non-string key {k!r}")
            _check(v, f"{path}.{k}")
        return
    raise CacheKeyError(
        f"{path} is a {type(value).__name__}, which has no canonical JSON form; "
        "pass JSON values (strings, numbers, booleans, lists, mappings) or set cache: false"
    )


def canonical_json(value: Any, *, path: str = "value") -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8, finite numbers only."""
    _check(value, path)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def cache_key(*, kind: str, version: str, params: Any, code_version: str | None) -> str:
    """The cache key of one step execution."""
    material = {"kind": kind, "version": version, "with": params, "code": code_version}
    return hashlib.sha256(canonical_json(material, path="with").encode()).hexdigest()
