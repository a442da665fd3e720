"""`runwright logs`: what steps printed (stdout, stderr, tracebacks), optionally live."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from runwright import api
from runwright.cli.app import G, app, run_async
from runwright.store.records import LogChunk

_Key = tuple[str, int | None, int, str]


class LinePrinter:
    """Prints chunks as whole lines, each prefixed with where it came from.

    ``step[item]#attempt stream| text``: chunks split lines anywhere, so a
    partial line waits (per stream) for the rest of it or for the end.
    """

    def __init__(self) -> None:
        self._partial: dict[_Key, str] = {}

    @staticmethod
    def prefix(key: _Key) -> str:
        step, item, attempt, stream = key
        where = step + (f"[{item}]" if item is not None else "")
        return f"{where}#{attempt} {stream}| "

    def feed(self, chunk: LogChunk) -> None:
        key = (chunk.step_id, chunk.item_or_none, chunk.attempt, chunk.stream)
        text = self._partial.pop(key, "") + chunk.text
        *lines, rest = text.split("\n")
        if rest:
            self._partial[key] = rest
        prefix = self.prefix(key)
        sys.stdout.write("".join(f"{prefix}{line}\n" for line in lines))

    def end(self) -> None:
        for key, rest in self._partial.items():
            sys.stdout.write(f"{self.prefix(key)}{rest}\n")
        self._partial.clear()
        sys.stdout.flush()


@app.command()
def logs(
    run_id: str,
    step: Annotated[
        str | None, typer.Argument(help="Only this step (default: every step).")
    ] = None,
    item: Annotated[
        int | None, typer.Option("--item", min=0, help="Only this for_each item.")
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Show output as it is written, until the run ends."),
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per chunk.")] = False,
) -> None:
    """Print steps' stdout, stderr and tracebacks (masked), prefixed by step#attempt."""
    printer = LinePrinter()

    async def go() -> None:
        async with api.Session(G.settings()) as session:
            async for chunk in session.logs(run_id, step, item=item, follow=follow):
                if json_:
                    sys.stdout.write(json.dumps(chunk.to_json()) + "\n")
                else:
                    printer.feed(chunk)
                if follow:
                    sys.stdout.flush()
        printer.end()

    run_async(go)
