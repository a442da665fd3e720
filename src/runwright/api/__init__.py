"""runwright.api: the library functions every interface (CLI, HTTP, MCP) calls."""

from runwright.api.authoring import (
    graph,
    init,
    init_next,
    json_schema,
    validate,
    validation_report,
)
from runwright.api.logs import read_logs
from runwright.api.outputs import step_output
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
    "read_logs",
    "step_output",
    "validate",
    "validation_report",
]
