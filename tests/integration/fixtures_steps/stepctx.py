"""Helpers shared by the step-kind tests: a real StepContext and polling with a deadline."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runwright.steps.base import StepContext
from runwright.workspace import FileWrite, Workspace


def make_context(
    tmp_path: Path,
    *,
    step_id: str = "step1",
    item: int | None = None,
    writes: list[FileWrite] | None = None,
    **overrides: Any,
) -> StepContext:
    """A context with a workspace in ``tmp_path/ws`` and the pipeline in ``tmp_path/pipeline``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    root = tmp_path / "ws"
    pipeline_dir = tmp_path / "pipeline"
    root.mkdir(exist_ok=True)
    pipeline_dir.mkdir(exist_ok=True)
    fields: dict[str, Any] = {
        "run_id": "run-" + uuid.uuid4().hex[:8],
        "step_id": step_id,
        "attempt": 1,
        "item": item,
        "idempotency_key": "idem-" + uuid.uuid4().hex[:8],
        "workspace": Workspace(root, on_write=None if writes is None else writes.append),
        "pipeline_dir": pipeline_dir,
        "env": dict(os.environ),
    }
    fields.update(overrides)
    return StepContext(**fields)


def wait_until(predicate: Callable[[], bool], *, timeout: float = 5.0, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.01)


async def async_wait_until(
    predicate: Callable[[], bool], *, timeout: float = 5.0, what: str = ""
) -> None:
    """Like :func:`wait_until`, without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.01)


def process_gone(pid: int) -> bool:
    """True once ``pid`` no longer exists or is a zombie (dead, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return any(line.startswith("State:") and "Z" in line.split()[1] for line in status.splitlines())
