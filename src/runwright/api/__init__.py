"""runwright.api: the library functions every interface (CLI, HTTP, MCP) calls.

Exports resolve lazily (PEP 562), so a command module can ``from runwright import
api`` at its top without loading the spec parser, the engine and pydantic for
``runwright --help``; they load when a command first uses ``api.Session``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runwright.api.authoring import graph as graph
    from runwright.api.authoring import init as init
    from runwright.api.authoring import init_next as init_next
    from runwright.api.authoring import json_schema as json_schema
    from runwright.api.authoring import validate as validate
    from runwright.api.authoring import validation_report as validation_report
    from runwright.api.logs import read_logs as read_logs
    from runwright.api.outputs import step_output as step_output
    from runwright.api.results import RunDetails as RunDetails
    from runwright.api.results import RunResult as RunResult
    from runwright.api.results import StepSummary as StepSummary
    from runwright.api.session import Session as Session

_EXPORTS = {
    "RunDetails": "runwright.api.results",
    "RunResult": "runwright.api.results",
    "Session": "runwright.api.session",
    "StepSummary": "runwright.api.results",
    "graph": "runwright.api.authoring",
    "init": "runwright.api.authoring",
    "init_next": "runwright.api.authoring",
    "json_schema": "runwright.api.authoring",
    "read_logs": "runwright.api.logs",
    "step_output": "runwright.api.outputs",
    "validate": "runwright.api.authoring",
    "validation_report": "runwright.api.authoring",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'runwright.api' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # resolve once
    return value
