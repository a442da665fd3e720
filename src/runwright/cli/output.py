"""Printing: human output through Rich, machine output as JSON on stdout.

Both consoles print strings *literally* (no markup, no emoji codes): text from
users and data (error messages, ids, keys, inputs) can never be taken for Rich
markup, so ``[/x]`` neither crashes nor vanishes. Styling is opt-in through
:func:`markup`, whose template is ours and whose values are always escaped, or
through :class:`~rich.text.Text` objects.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator, Collection
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console
from rich.markup import escape
from rich.text import Text

if TYPE_CHECKING:
    from rich.table import Table


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # Rich's own handler exits 1; a closed pipe is not a failure (`runwright show ID | head`).
        quiet_exit_on_closed_pipe()


out = _Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = _Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def markup(template: str, *values: Any) -> Text:
    """Rich markup from a constant ``template`` with ``{}`` fields; each value is escaped.

    ``markup("run [bold]{}[/] of {}", run_id, pipeline)``: only the template's own
    tags style the text, whatever the values contain.
    """
    return Text.from_markup(template.format(*(escape(str(v)) for v in values)), emoji=False)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=None, default=str) + "\n")
    sys.stdout.flush()


async def emit_json_with(value: dict[str, Any], key: str, rows: AsyncIterator[Any]) -> None:
    """``value`` with ``key`` set to the list of ``rows``, written as they come (one line).

    The list may be longer than memory wants to hold at once: it is never built.
    """
    head = json.dumps(value, indent=None, default=str)
    sys.stdout.write(head[:-1] + (", " if value else "") + json.dumps(key) + ": [")
    first = True
    async for row in rows:
        sys.stdout.write(("" if first else ", ") + json.dumps(row, indent=None, default=str))
        first = False
    sys.stdout.write("]}\n")
    sys.stdout.flush()


def quiet_exit_on_closed_pipe() -> NoReturn:
    """End quietly (exit 0) because the reader of stdout went away (``| head``), as ripgrep does.

    Later writes, and the interpreter's final flush, go to /dev/null instead of
    raising ``BrokenPipeError`` again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    raise SystemExit(0)


def ago(ts: float | None) -> str:
    if ts is None:
        return "-"
    delta = time.time() - ts
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            return f"{int(delta // size)}{unit} ago"
    return f"{int(delta)}s ago"


def duration(start: float | None, end: float | None) -> str:
    if start is None:
        return "-"
    seconds = (end or time.time()) - start
    if seconds < 60:
        return f"{seconds:.2f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


STATE_STYLE = {
    "succeeded": "green",
    "cached": "cyan",
    "failed": "red",
    "cancelled": "yellow",
    "skipped": "dim",
    "waiting": "magenta",
    "running": "blue",
    "leased": "blue",
    "ready": "white",
    "pending": "dim",
    "abandoned": "yellow",
    "lost": "red",
    "paused": "yellow",
}


def styled(state: str) -> Text:
    return Text(state, style=STATE_STYLE.get(state, "white"))


def shorten(text: str, width: int) -> str:
    """The first line of ``text``, cut at a word boundary to ``width`` with an ellipsis."""
    lines = text.strip().splitlines() or [""]
    line = lines[0]
    if len(line) <= width and len(lines) == 1:
        return line
    if len(line) > width - 1:
        cut = line[: width - 1]
        space = cut.rfind(" ")
        line = cut[:space] if space > width // 2 else cut
    return line.rstrip() + "…"


def table(*columns: str, wrap: Collection[str] = ()) -> Table:
    """A borderless table that never breaks a word in the middle.

    Rich otherwise shrinks every column of a table wider than the terminal and
    folds what is in them (run ids, states) anywhere. Here only the ``wrap``
    columns (free text, names) give way: they wrap between words, and a word
    too long for them ends in an ellipsis. The others (ids, states, times) stay whole.
    """
    from rich.table import Table  # only commands that print a table pay for it

    grid = Table(box=None)
    for column in columns:
        if column in wrap:
            grid.add_column(column, overflow="ellipsis")
        else:
            grid.add_column(column, no_wrap=True, min_width=len(column))
    return grid
