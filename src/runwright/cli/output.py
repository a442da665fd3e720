"""Printing: human output through Rich, machine output as JSON on stdout."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=None, default=str) + "\n")
    sys.stdout.flush()


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
}


def styled(state: str) -> str:
    return f"[{STATE_STYLE.get(state, 'white')}]{state}[/]"
