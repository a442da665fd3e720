"""Canonical JSON and cache keys.

A cache key is the sha256 of the canonical JSON of (step kind and version,
resolved inputs, code version, and the step's own ``cache.key`` if it has one).
Values that have no canonical JSON form make the key uncomputable: that is a loud
:class:`CacheKeyError`, never a silent miss. :class:`FileHasher` is the
``hash_files()`` template function that lets a key cover file contents.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path, PurePosixPath, PureWindowsPath
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


def cache_key(
    *,
    kind: str,
    version: str,
    params: Any,
    code_version: str | None,
    user_key: Any = None,
) -> str:
    """The cache key of one step execution.

    ``user_key`` (a step's rendered ``cache.key``) is added to the default material,
    never a replacement for it; without one the key is what it always was, so
    existing cache entries stay valid.
    """
    material = {"kind": kind, "version": version, "with": params, "code": code_version}
    if user_key is not None:
        canonical_json(user_key, path="cache.key")  # names the field if it has no JSON form
        material["key"] = user_key
    return hashlib.sha256(canonical_json(material, path="with").encode()).hexdigest()


#: Never hashed by ``hash_files('**/*')``: runwright's state directory.
STATE_DIR = ".runwright"


class FileHasher:
    """``hash_files(pattern, ...)`` for templates: one digest of the files that match.

    In the spirit of GitHub Actions' ``hashFiles``: sha256 over the matching files,
    sorted by path, each contributing its path (relative to ``root``, the pipeline
    file's directory) and its content. Patterns are globs relative to ``root``
    (``*``, ``?``, ``[...]``, and ``**`` for any depth); only regular files count,
    and never those under ``.runwright/``.
    Matching nothing, or reaching outside ``root``, is a :class:`CacheKeyError`:
    a key that silently stopped covering anything would serve stale results.
    """

    __slots__ = ("root",)

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *patterns: Any) -> str:
        root = self.root.resolve()
        files: dict[str, Path] = {}
        for pattern in patterns:
            for rel, path in self._matches(root, pattern):
                files[rel] = path
        if not files:
            shown = ", ".join(repr(p) for p in patterns)
            raise CacheKeyError(
                f"hash_files({shown}) matched no files in {root}; check the pattern "
                "(it is relative to the pipeline file's directory)"
            )
        digest = hashlib.sha256()
        for rel in sorted(files):
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            content = hashlib.sha256()
            with files[rel].open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    content.update(block)
            digest.update(content.digest())
        return digest.hexdigest()

    def _matches(self, root: Path, pattern: Any) -> list[tuple[str, Path]]:
        if not isinstance(pattern, str) or not pattern.strip():
            raise CacheKeyError(
                f"hash_files() takes glob patterns such as 'docs/*.md', got {pattern!r}"
            )
        pure = PurePosixPath(pattern)
        if pure.is_absolute() or PureWindowsPath(pattern).is_absolute() or ".." in pure.parts:
            raise CacheKeyError(
                f"hash_files({pattern!r}) reaches outside the pipeline's directory {root}; "
                "use a pattern relative to it, without '..'"
            )
        found: list[tuple[str, Path]] = []
        for path in root.glob(pattern):
            if not path.is_file() or STATE_DIR in path.relative_to(root).parts:
                continue  # runwright's own database changes with every run
            real = path.resolve()
            if not real.is_relative_to(root):  # a symlink out of the directory
                raise CacheKeyError(
                    f"hash_files({pattern!r}) matched {path.relative_to(root)}, which links "
                    f"outside the pipeline's directory {root}; hash files inside it only"
                )
            found.append((path.relative_to(root).as_posix(), path))
        return found
