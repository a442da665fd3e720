"""Keep secrets out of events, logs, outputs and the database.

Secret values are taken from environment variables whose names look secret
(``*_KEY``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``…) plus any names the user
lists; every string runwright persists passes through :meth:`Redactor.redact`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSW(OR)?D|CREDENTIAL|AUTH|PRIVATE)", re.I)
#: Shorter values are too likely to occur by chance in ordinary text.
MIN_SECRET_LENGTH = 8
MASK = "***"


class Redactor:
    """Replaces known secret values with ``***``."""

    __slots__ = ("_pairs",)

    def __init__(self, secrets: Iterable[str]) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        pairs: list[tuple[str, str]] = []
        for value in values:
            pairs.append((value, MASK))
            escaped = json.dumps(value)[1:-1]
            if escaped != value:  # the form it takes inside serialised JSON
                pairs.append((escaped, MASK))
        self._pairs = tuple(pairs)

    @classmethod
    def from_env(cls, env: Mapping[str, str], extra_names: Iterable[str] = ()) -> Redactor:
        names = set(extra_names)
        return cls(v for k, v in env.items() if k in names or _SECRET_NAME.search(k))

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def redact(self, text: str) -> str:
        for value, mask in self._pairs:
            if value in text:
                text = text.replace(value, mask)
        return text
