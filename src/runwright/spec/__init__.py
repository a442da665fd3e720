"""Pipeline specs: load and validate YAML, render templates, resolve inputs.

The engine codes against the names re-exported here.
"""

from runwright.spec.diff import diff_specs
from runwright.spec.durations import parse_duration
from runwright.spec.expressions import CompiledPipeline
from runwright.spec.inputs import parse_input_args, resolve_inputs
from runwright.spec.loader import KindSchema, LoadedSpec, load_spec, parse_spec, spec_hash
from runwright.spec.models import (
    Defaults,
    InputSpec,
    InputType,
    Pipeline,
    RetryPolicy,
    StepSpec,
)
from runwright.spec.schema import json_schema
from runwright.spec.suggest import did_you_mean

__all__ = [
    "CompiledPipeline",
    "Defaults",
    "InputSpec",
    "InputType",
    "KindSchema",
    "LoadedSpec",
    "Pipeline",
    "RetryPolicy",
    "StepSpec",
    "did_you_mean",
    "diff_specs",
    "json_schema",
    "load_spec",
    "parse_duration",
    "parse_input_args",
    "parse_spec",
    "resolve_inputs",
    "spec_hash",
]
