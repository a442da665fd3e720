"""Trivial step functions for the benchmarks."""

from __future__ import annotations

import os
import time
from pathlib import Path


def noop(i: int = 0) -> int:
    return i


def join(*_: object) -> str:
    return "ok"


def stall_at(i: int, stall: int, marker: str) -> int:
    """Step ``stall`` writes ``marker`` and blocks until killed (unless RESUMING is set)."""
    if i == stall and not os.environ.get("RUNWRIGHT_BENCH_RESUMING"):
        Path(marker).write_text(str(os.getpid()))
        while True:
            time.sleep(1)
    return i


def items(n: int) -> list[int]:
    """The list a for_each fans out over (bench/distributed.py W2)."""
    return list(range(int(n)))
