"""Pipeline specs: load and validate YAML, render templates, resolve inputs.

The engine codes against the names re-exported here. They resolve lazily (PEP 562):
importing a light submodule (``runwright.spec.suggest``) must not load pydantic.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runwright.spec.diff import diff_specs as diff_specs
    from runwright.spec.durations import parse_duration as parse_duration
    from runwright.spec.expressions import CompiledPipeline as CompiledPipeline
    from runwright.spec.inputs import parse_input_args as parse_input_args
    from runwright.spec.inputs import resolve_inputs as resolve_inputs
    from runwright.spec.loader import KindSchema as KindSchema
    from runwright.spec.loader import LoadedSpec as LoadedSpec
    from runwright.spec.loader import load_spec as load_spec
    from runwright.spec.loader import parse_spec as parse_spec
    from runwright.spec.loader import spec_hash as spec_hash
    from runwright.spec.models import Defaults as Defaults
    from runwright.spec.models import InputSpec as InputSpec
    from runwright.spec.models import InputType as InputType
    from runwright.spec.models import Pipeline as Pipeline
    from runwright.spec.models import RetryPolicy as RetryPolicy
    from runwright.spec.models import StepSpec as StepSpec
    from runwright.spec.schema import json_schema as json_schema
    from runwright.spec.suggest import did_you_mean as did_you_mean

_EXPORTS = {
    "CompiledPipeline": "runwright.spec.expressions",
    "Defaults": "runwright.spec.models",
    "InputSpec": "runwright.spec.models",
    "InputType": "runwright.spec.models",
    "KindSchema": "runwright.spec.loader",
    "LoadedSpec": "runwright.spec.loader",
    "Pipeline": "runwright.spec.models",
    "RetryPolicy": "runwright.spec.models",
    "StepSpec": "runwright.spec.models",
    "did_you_mean": "runwright.spec.suggest",
    "diff_specs": "runwright.spec.diff",
    "json_schema": "runwright.spec.schema",
    "load_spec": "runwright.spec.loader",
    "parse_duration": "runwright.spec.durations",
    "parse_input_args": "runwright.spec.inputs",
    "parse_spec": "runwright.spec.loader",
    "resolve_inputs": "runwright.spec.inputs",
    "spec_hash": "runwright.spec.loader",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'runwright.spec' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # resolve once
    return value
