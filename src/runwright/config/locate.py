"""Where each key of a TOML file is: a light scanner beside :mod:`tomllib`.

``tomllib`` parses the values but keeps no positions, and the style-preserving
parsers are a heavy dependency for one feature, so this scanner records the line
and column of every ``[table]`` header and ``key = value`` line. Keys inside an
inline table or an array are located at the key that holds them, which is
where a user would look.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Path = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_-]+"
_PART = rf'(?:{_BARE}|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_KEYVAL = re.compile(rf"^(\s*)({_DOTTED})\s*=\s*(.?)")
_SPLIT = re.compile(_PART)


@dataclass(frozen=True, slots=True)
class Spot:
    """A 1-based line and column; ``inline`` when the value is an inline table or array."""

    line: int
    column: int
    inline: bool = False


def _parts(dotted: str) -> tuple[str, ...]:
    out = []
    for m in _SPLIT.finditer(dotted):
        part = m.group(0)
        if part[0] == '"':
            part = part[1:-1].encode().decode("unicode_escape")
        elif part[0] == "'":
            part = part[1:-1]
        out.append(part)
    return tuple(out)


class TomlLocator:
    """Positions of the keys of one TOML document, by key path."""

    def __init__(self, text: str) -> None:
        self._spots: dict[Path, Spot] = {}
        arrays: dict[tuple[str, ...], int] = {}
        table: Path = ()
        fence: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if fence is not None:  # inside a multi-line string
                if line.count(fence) % 2 == 1:
                    fence = None
                continue
            header = _HEADER.match(line)
            if header:
                names = _parts(header.group(2))
                if header.group(1) == "[[":
                    index = arrays.get(names, -1) + 1
                    arrays[names] = index
                    table = (*names, index)
                else:
                    table = names
                self._spots.setdefault(table, Spot(number, header.start(2) + 1))
                continue
            keyval = _KEYVAL.match(line)
            if not keyval:
                continue
            path = (*table, *_parts(keyval.group(2)))
            first = keyval.group(3)
            self._spots[path] = Spot(number, keyval.start(2) + 1, inline=first in ("{", "["))
            rest = line[keyval.end(3) - 1 :] if first else ""
            for quote in ('"""', "'''"):
                if rest.startswith(quote) and rest.count(quote) == 1:
                    fence = quote

    def exact(self, path: Path) -> Spot | None:
        """The position of exactly ``path`` if it is written out in the file."""
        return self._spots.get(tuple(path))

    def nearest(self, path: Path) -> Spot | None:
        """The position of ``path`` or of the closest ancestor that is in the file."""
        path = tuple(path)
        while path:
            spot = self._spots.get(path)
            if spot is not None:
                return spot
            path = path[:-1]
        return None

    def written(self, path: Path) -> Spot | None:
        """Where the value at ``path`` was written: itself, or an inline table holding it."""
        spot = self.exact(path)
        if spot is not None:
            return spot
        path = tuple(path)
        while len(path) > 1:
            path = path[:-1]
            spot = self._spots.get(path)
            if spot is not None:
                return spot if spot.inline else None
        return None
