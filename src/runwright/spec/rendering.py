"""Compiled template values of a spec: one template, and mappings or lists holding some.

Built once per pipeline by :class:`~runwright.spec.expressions.CompiledPipeline` and
rendered on every attempt, so the common case (a plain lookup such as
``{{ steps.plan.output.text }}``) is evaluated without Jinja; anything unusual falls
back to Jinja itself, so results and error messages are always Jinja's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runwright.errors import ExpressionError, RunwrightError, TemplateSyntaxError
from runwright.spec.problems import field_label
from runwright.spec.templates import (
    Ref,
    TemplateInfo,
    analyse,
    analyse_expression,
    environment,
    has_template,
    missing_key,
)
from runwright.spec.yamlsrc import FieldPath

if TYPE_CHECKING:
    from jinja2.environment import Template, TemplateExpression

#: ``file:line:col`` of a field path in the spec's file (``LoadedSpec.location``).
Locate = Callable[[FieldPath], str]


class _Fallback(Exception):
    """The fast path cannot decide; let Jinja evaluate (and word any error)."""


def _lookup(context: Mapping[str, Any], ref: Ref) -> Any:
    # Exactly Jinja's result for plain dict keys and list indexes; anything else
    # (attributes, missing keys, other types) goes to Jinja.
    try:
        value = context[ref.root]
    except KeyError:
        raise _Fallback from None
    for key in ref.keys:
        kind = type(value)
        if (kind is dict and key in value) or (
            (kind is list or kind is tuple) and type(key) is int and -len(value) <= key < len(value)
        ):
            value = value[key]
        else:
            raise _Fallback
    return value


@dataclass(frozen=True, slots=True)
class Site:
    """The step a template belongs to, and how to say where in the file it is."""

    step_id: str
    index: int
    locate: Locate | None

    def where(self, path: FieldPath) -> str | None:
        return self.locate(("steps", self.index, *path)) if self.locate else None


class Leaf:
    """One template string (or bare expression) of a step, ready to evaluate."""

    __slots__ = (
        "_expression",
        "_native_ref",
        "_parts",
        "_template",
        "info",
        "label",
        "path",
        "site",
        "step_id",
    )

    def __init__(self, site: Site, path: FieldPath, label: str, info: TemplateInfo) -> None:
        self.step_id = site.step_id
        self.site = site
        self.path = path
        self.label = label
        self.info = info
        refs = [p for p in info.parts or () if isinstance(p, Ref)]
        native = info.expression is not None
        # Fast paths: a lone plain lookup (native value), or text with plain lookups.
        self._native_ref = refs[0] if native and len(refs) == 1 else None
        self._parts = info.parts if not native else None
        self._expression: TemplateExpression | None = None
        self._template: Template | None = None

    def _compile(self) -> None:
        env = environment()
        if self.info.expression is not None:
            self._expression = env.compile_expression(self.info.expression, undefined_to_none=False)
        else:
            self._template = env.from_string(self.info.source)

    def render(self, context: Mapping[str, Any]) -> Any:
        """The template's value (native for a lone expression, else text)."""
        try:
            if self._native_ref is not None:
                return _lookup(context, self._native_ref)
            if self._parts is not None:
                return "".join(
                    [p if isinstance(p, str) else _text(_lookup(context, p)) for p in self._parts]
                )
        except _Fallback:
            pass
        try:
            if self._expression is None and self._template is None:
                self._compile()  # first use; analysis already checked the syntax
            if self._expression is not None:
                return _native(self._expression(context))
            assert self._template is not None
            return self._template.render(context)
        except Exception as exc:
            raise self.error(exc, context) from exc

    def error(self, exc: Exception, context: Mapping[str, Any] | None = None) -> ExpressionError:
        """An ExpressionError naming the step and field (and the key meant, for a typo)."""
        from jinja2 import TemplateSyntaxError as JinjaSyntaxError  # errors are rare
        from jinja2 import UndefinedError

        text = exc.message if isinstance(exc, JinjaSyntaxError) else str(exc)
        hint = missing_key(self.info.refs, context) if isinstance(exc, UndefinedError) else None
        if hint is not None:
            text = hint
        if isinstance(exc, RecursionError | MemoryError):  # Jinja and Python compile recursively
            text = "expression nested too deeply; split it into smaller expressions"
        elif isinstance(exc, RunwrightError):
            text = exc.message  # already worded for users (e.g. hash_files)
        elif hint is None and (not text or not type(exc).__module__.startswith("jinja2")):
            text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        where = self.site.where(self.path)  # looked up only now: errors are rare
        at = f" ({where})" if where else ""
        return ExpressionError(
            f"step {self.step_id!r} {self.label}{at}: {text}",
            step_id=self.step_id,
            field=self.label,
            location=where,
        )


def _text(value: Any) -> str:
    return value if type(value) is str else str(value)


def _native(value: Any) -> Any:
    from jinja2 import Undefined  # loaded already: only Jinja's own results come here

    if isinstance(value, Undefined):
        value._fail_with_undefined_error()  # raises UndefinedError with Jinja's message
    if isinstance(value, range | Iterator):  # e.g. `x | map(...)` yields a generator
        return list(value)
    return value


class DictNode:
    """A mapping with templates somewhere inside: literal keys copied, template keys rendered."""

    __slots__ = ("base", "dynamic")

    def __init__(self, base: dict[str, Any], dynamic: list[tuple[str, Any]]) -> None:
        self.base = base
        self.dynamic = dynamic

    def render(self, context: Mapping[str, Any]) -> dict[str, Any]:
        out = self.base.copy()
        for key, node in self.dynamic:
            out[key] = node.render(context)
        return out


class ListNode:
    __slots__ = ("items",)

    def __init__(self, items: list[tuple[bool, Any]]) -> None:
        self.items = items

    def render(self, context: Mapping[str, Any]) -> list[Any]:
        return [node.render(context) if dynamic else node for dynamic, node in self.items]


def compile_value(site: Site, path: FieldPath, value: Any) -> tuple[bool, Any]:
    """``(has_templates, value_or_renderer)`` for a literal value from the spec."""
    if isinstance(value, str):
        if not has_template(value):
            return False, value
        return True, compile_leaf(site, path, value, bare=False)
    if isinstance(value, dict):
        compiled = {k: compile_value(site, (*path, k), v) for k, v in value.items()}
        if not any(dynamic for dynamic, _ in compiled.values()):
            return False, value
        base = {k: (None if dynamic else v) for k, (dynamic, v) in compiled.items()}
        return True, DictNode(base, [(k, v) for k, (dynamic, v) in compiled.items() if dynamic])
    if isinstance(value, list | tuple):
        items = [compile_value(site, (*path, i), v) for i, v in enumerate(value)]
        if not any(dynamic for dynamic, _ in items):
            return False, list(value)
        return True, ListNode(items)
    return False, value


def compile_leaf(site: Site, path: FieldPath, source: str, *, bare: bool) -> Leaf:
    label = field_label(path)
    try:
        info = analyse_expression(source) if bare else analyse(source)
        return Leaf(site, path, label, info)
    except TemplateSyntaxError as exc:
        where = site.where(path)
        at = f" ({where})" if where else ""
        raise ExpressionError(
            f"step {site.step_id!r} {label}{at}: template syntax error: {exc.message}",
            step_id=site.step_id,
            field=label,
            location=where,
        ) from exc
