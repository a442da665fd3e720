"""runwright.api: the library functions every interface (CLI, HTTP, MCP) calls."""

from runwright.api.authoring import (
    graph,
    init,
    init_next,
    json_schema,
    validate,
    validation_report,
)
from runwright.api.results import RunDetails, RunResult, StepSummary
from runwright.api.session import Session

__all__ = [
    "RunDetails",
    "RunResult",
    "Session",
    "StepSummary",
    "graph",
    "init",
    "init_next",
    "json_schema",
    "validate",
    "validation_report",
]
