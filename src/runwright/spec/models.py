"""Pydantic models of a pipeline spec (the YAML file's shape).

These models describe and validate *shape*; cross-field checks (duplicate ids,
unknown needs, cycles, template variables) live in :mod:`runwright.spec.validate`.
"""

from __future__ import annotations

import random
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from runwright.spec.durations import parse_duration

TrustLevel = Literal["student", "intern", "supervised", "autonomous"]
OnViolation = Literal["fail", "ask"]
InputType = Literal["string", "integer", "number", "boolean", "array", "object"]
STEP_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
#: Worker labels: no commas or spaces (label sets are stored comma-joined).
LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
Label = Annotated[str, StringConstraints(pattern=LABEL_PATTERN, max_length=64)]


def _keep_mapping(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # A mapping with text keys is kept as read, not copied: 184 bytes a step. Nothing
    # changes a spec's values (rendering copies), so steps may share one through an alias.
    if type(value) is dict and all(type(k) is str for k in value):
        return value
    return handler(value)


def _to_seconds(value: Any) -> Any:
    try:
        return parse_duration(value)
    except OverflowError:  # float() of a huge integer; pydantic only translates ValueError
        raise ValueError("the duration is too large; use a smaller number") from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RetryPolicy(_Model):
    """How a failed step is retried. ``retry: 3`` is shorthand for ``{attempts: 3}``."""

    attempts: int = Field(1, ge=1, le=100, description="Total attempts, including the first.")
    backoff: Literal["exponential", "fixed"] = "exponential"
    initial_delay: float = Field(1.0, ge=0, description="Seconds (or a duration like '2s').")
    max_delay: float = Field(60.0, ge=0, description="Upper bound of one delay.")
    jitter: bool = True

    @field_validator("initial_delay", "max_delay", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return _to_seconds(v)

    def delay(self, failed_attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after attempt number ``failed_attempt`` (1-based) failed."""
        if self.backoff == "fixed":
            base = self.initial_delay
        else:
            base = self.initial_delay * (2 ** max(0, failed_attempt - 1))
        base = min(base, self.max_delay)
        if self.jitter and base > 0:
            # "Equal jitter": keeps at least half the delay, spreads the rest.
            base = base / 2 + (rng or random).uniform(0, base / 2)
        return base


def _coerce_retry(v: Any) -> Any:
    if isinstance(v, bool):
        return v  # let pydantic reject it with a type error
    if isinstance(v, int):
        return {"attempts": v}
    return v


class InputSpec(_Model):
    """A declared pipeline input."""

    type: InputType = "string"
    default: Any = None
    required: bool | None = Field(None, description="Defaults to true when no default is given.")
    description: str | None = None

    @property
    def is_required(self) -> bool:
        if self.required is not None:
            return self.required
        return "default" not in self.model_fields_set


class Defaults(_Model):
    """Defaults applied to every step that does not set its own."""

    retry: RetryPolicy | None = None
    timeout: float | None = Field(None, ge=0, description="Seconds or a duration like '10m'.")
    on_failure: Literal["stop", "continue"] | None = None

    _retry = field_validator("retry", mode="before")(lambda v: _coerce_retry(v))
    _timeout = field_validator("timeout", mode="before")(lambda v: _to_seconds(v))


class CacheSpec(_Model):
    """``cache: {key: ...}``: cache the step, keyed also on ``key``."""

    key: Any = Field(
        description="Added to the default key (kind, with, code): a value or a template, "
        "e.g. \"{{ hash_files('docs/*.md') }}\" to key on file contents."
    )


class OnFail(_Model):
    """``on_fail: {retry_step: implement, attempts: 3}``: a bounded loop back to an earlier step.

    When the step fails for good, ``retry_step`` (one of its ancestors) runs again with
    the failure as feedback, and so does every step between them.
    """

    retry_step: str = Field(pattern=STEP_ID_PATTERN, description="An ancestor to send back to.")
    attempts: int = Field(
        2, ge=1, le=20, description="Times the loop may send the work back (after the first)."
    )


class StepSpec(_Model):
    """One step of the DAG."""

    id: str = Field(pattern=STEP_ID_PATTERN)
    uses: str = Field(description="The step kind, e.g. shell, python, approval.")
    name: str | None = None
    description: str | None = None
    with_: Annotated[dict[str, Any], WrapValidator(_keep_mapping)] = Field(
        default_factory=dict, alias="with"
    )
    needs: tuple[str, ...] = ()
    if_: str | bool | None = Field(None, alias="if")
    for_each: str | list[Any] | None = None
    retry: RetryPolicy | None = None
    timeout: float | None = Field(None, ge=0, description="Seconds or a duration like '5m'.")
    cache: bool | CacheSpec | None = Field(
        None,
        description="true/false, or {key: ...} to cache keyed also on a value or template "
        "(e.g. hash_files); defaults to the step kind's purity.",
    )
    on_failure: Literal["stop", "continue"] | None = None
    on_fail: OnFail | None = Field(
        None, description="Send the work back to an earlier step when this one fails (a gate)."
    )
    labels: tuple[Label, ...] = Field((), max_length=8)
    trust: TrustLevel | None = Field(None, description="What the step may do (trust levels).")
    on_violation: OnViolation | None = Field(
        None, description="Beyond its trust level: fail (default), or ask a person."
    )

    _retry = field_validator("retry", mode="before")(lambda v: _coerce_retry(v))
    _timeout = field_validator("timeout", mode="before")(lambda v: _to_seconds(v))

    @field_validator("needs", "labels", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    def model_post_init(self, context: Any, /) -> None:
        # Which fields a step sets is read only by exclude_unset (the spec hash) and never
        # changes (the model is frozen), and 10,000 steps set a handful of distinct
        # combinations: one set per combination, not one of 216 bytes per step.
        given = self.__pydantic_fields_set__
        object.__setattr__(
            self, "__pydantic_fields_set__", _GIVEN.setdefault(frozenset(given), given)
        )


_GIVEN: dict[frozenset[str], set[str]] = {}


class RunBudget(_Model):
    """``budget: {usd: N}``: what one run may spend on model calls, in USD."""

    usd: float = Field(gt=0, allow_inf_nan=False)


class Pipeline(_Model):
    """A pipeline: inputs, defaults and steps."""

    name: str
    description: str | None = None
    version: str | int | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    defaults: Defaults = Field(default_factory=Defaults)
    budget: RunBudget | None = None
    trust: TrustLevel | None = Field(
        None, description="The trust level of every step that sets none ([trust] default)."
    )
    on_violation: OnViolation | None = None
    steps: tuple[StepSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _index(self) -> Pipeline:
        object.__setattr__(self, "_by_id", {s.id: s for s in self.steps})
        return self

    def step(self, step_id: str) -> StepSpec:
        by_id: dict[str, StepSpec] = self.__dict__.get("_by_id") or {s.id: s for s in self.steps}
        return by_id[step_id]
