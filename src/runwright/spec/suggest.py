"""Tiny "did you mean" helper for error messages.

Messages should name the fix (STYLE.md §9); when a user mistypes a name, the
closest known name usually *is* the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: How similar a candidate must be (difflib ratio) to be suggested.
DEFAULT_CUTOFF = 0.6


def closest(word: str, candidates: Iterable[str], *, cutoff: float = DEFAULT_CUTOFF) -> str | None:
    """Return the candidate most similar to ``word``, or ``None`` when none is close."""
    pool = [c for c in candidates if isinstance(c, str)]
    # A case-only difference is always the intended name, whatever difflib thinks.
    folded = word.casefold()
    for candidate in pool:
        if candidate.casefold() == folded and candidate != word:
            return candidate
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
    return matches[0] if matches else None


def one_of(candidates: Iterable[str], *, limit: int = 8) -> str:
    """``'a', 'b' or 'c'`` (sorted, at most ``limit`` names, then ``…``)."""
    names = sorted({c for c in candidates if isinstance(c, str)})
    if not names:
        return "(none)"
    shown = [repr(n) for n in names[:limit]]
    if len(names) > limit:
        return ", ".join(shown) + ", …"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def suggest(word: str, candidates: Iterable[str], *, fallback: str | None = None) -> str:
    """``"did you mean 'build'?"``, else ``fallback`` (default: ``"use 'a', 'b' or 'c'"``).

    Never empty: for messages of the form ``"<what is wrong>; <what to do>"``.
    """
    pool = list(candidates)
    match = closest(word, pool)
    if match is not None:
        return f"did you mean {match!r}?"
    if fallback is not None:
        return fallback
    return f"use {one_of(pool)}" if pool else "there is nothing to refer to"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'build'?"`` when a candidate is close, else ``""``.

    A suffix for messages: ``f"no step {name!r}{did_you_mean(name, ids)}"``.
    """
    match = closest(word, list(candidates))
    return f"; did you mean {match!r}?" if match is not None else ""
