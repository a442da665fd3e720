"""Durations: ``30``, ``"30s"``, ``"1.5m"``, ``"2h"``, ``"1h30m"`` → seconds."""

from __future__ import annotations

import re
from typing import Any

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> Any:
    """Return seconds as a float; values that are not durations pass through for pydantic.

    Raises ``ValueError`` (turned into a located validation error by pydantic)
    for a string that looks like a duration but is malformed, and for a boolean:
    YAML reads ``timeout: true`` as a bool, which Python would take as 1 second.
    """
    if value is None:
        return value
    if isinstance(value, bool):
        raise ValueError(
            f"expected a duration like 30s, got a boolean ({str(value).lower()}); "
            "write a number of seconds or units like '30s', '5m', '1h30m'"
        )
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        return value
    text = value.strip().replace(" ", "")
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if number < 0 or number != number:
            raise ValueError(f"invalid duration {value!r}; a duration cannot be negative")
        return number
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(
            f"invalid duration {value!r}; "
            "use a number of seconds or units like '30s', '5m', '1h30m'"
        )
    return total
