"""Helpers for tests that drive the real `runwright` CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def wait_until(predicate: Callable[[], Any], timeout: float) -> Any:
    """Poll ``predicate`` every 20 ms until it is truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.02)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RUNWRIGHT_")}


def cli(
    cwd: Path, *args: str, timeout: float = 60, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in ``cwd``; ``env`` adds variables to the cleaned environment."""
    return subprocess.run(
        [sys.executable, "-m", "runwright", *args],
        cwd=cwd,
        env={**clean_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
