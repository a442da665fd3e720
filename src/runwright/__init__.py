"""runwright: durable AI development pipelines.

The public API is re-exported here lazily, so ``import runwright`` (and the
``runwright --version`` start-up) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from runwright._version import __version__

if TYPE_CHECKING:
    from runwright.api import RunDetails, RunResult, Session, graph, init, json_schema, validate
    from runwright.errors import (
        Cancelled,
        RunwrightError,
        SpecError,
        StateError,
        StepError,
        StoreError,
    )
    from runwright.events import Event, EventType, Level
    from runwright.settings import Settings
    from runwright.states import AttemptState, RunStatus
    from runwright.steps.base import StepContext, StepKind, WaitForApproval
    from runwright.workspace import FileWrite, Workspace

_EXPORTS = {
    "AttemptState": "runwright.states",
    "Cancelled": "runwright.errors",
    "Event": "runwright.events",
    "EventType": "runwright.events",
    "FileWrite": "runwright.workspace",
    "Level": "runwright.events",
    "RunDetails": "runwright.api",
    "RunResult": "runwright.api",
    "RunStatus": "runwright.states",
    "RunwrightError": "runwright.errors",
    "Session": "runwright.api",
    "Settings": "runwright.settings",
    "SpecError": "runwright.errors",
    "StateError": "runwright.errors",
    "StepContext": "runwright.steps.base",
    "StepError": "runwright.errors",
    "StepKind": "runwright.steps.base",
    "StoreError": "runwright.errors",
    "WaitForApproval": "runwright.steps.base",
    "Workspace": "runwright.workspace",
    "graph": "runwright.api",
    "init": "runwright.api",
    "json_schema": "runwright.api",
    "validate": "runwright.api",
}

__all__ = [
    "AttemptState",
    "Cancelled",
    "Event",
    "EventType",
    "FileWrite",
    "Level",
    "RunDetails",
    "RunResult",
    "RunStatus",
    "RunwrightError",
    "Session",
    "Settings",
    "SpecError",
    "StateError",
    "StepContext",
    "StepError",
    "StepKind",
    "StoreError",
    "WaitForApproval",
    "Workspace",
    "__version__",
    "graph",
    "init",
    "json_schema",
    "validate",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'runwright' has no attribute {name!r}")
    return getattr(import_module(module), name)
