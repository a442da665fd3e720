"""Keep secrets out of events, logs, outputs and the database.

Secret values are taken from environment variables whose names look secret
(``*_KEY``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``…) plus any names the user
lists; every string runwright persists passes through :meth:`Redactor.redact`.

Masking always comes before cutting: text that is truncated (an output's tail,
an error's tail, a log chunk) is masked whole first, and a stream is masked as
one text by :class:`StreamMasker`, which holds back the few characters that may
be the start of a secret until the next piece arrives. A cut can then never
leave a secret's last characters behind.
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

    __slots__ = ("_pairs", "longest")

    def __init__(self, secrets: Iterable[str]) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        pairs: list[tuple[str, str]] = []
        for value in values:
            pairs.append((value, MASK))
            escaped = json.dumps(value)[1:-1]
            if escaped != value:  # the form it takes inside serialised JSON
                pairs.append((escaped, MASK))
        self._pairs = tuple(pairs)
        #: Length of the longest text that is masked (0 when there is none).
        self.longest = max((len(v) for v, _ in pairs), default=0)

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

    def stream(self) -> StreamMasker:
        """A masker for one stream of text arriving in pieces."""
        return StreamMasker(self)


class StreamMasker:
    """Masks a stream fed in arbitrary pieces as if it were one text.

    :meth:`feed` returns the masked text that is safe to write now; it keeps
    back the last ``longest - 1`` characters, which may be the start of a
    secret whose end is still to come. :meth:`flush` returns the rest when the
    stream ends. Memory is bounded by one piece plus that window.
    """

    __slots__ = ("_pending", "_redactor", "_window")

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._pending = ""
        self._window = max(0, redactor.longest - 1)

    def feed(self, text: str) -> str:
        if not self._window:
            return text
        masked = self._redactor.redact(self._pending + text)
        # Every secret that starts before the cut ends before the end of `masked`
        # (it is at most window + 1 long), so it has been replaced already.
        cut = max(0, len(masked) - self._window)
        self._pending = masked[cut:]
        return masked[:cut]

    def flush(self) -> str:
        rest = self._redactor.redact(self._pending)
        self._pending = ""
        return rest
