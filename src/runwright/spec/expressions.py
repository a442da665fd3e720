"""Render a step's ``with``, ``if`` and ``for_each`` at run time.

This is on the engine's hot path (every attempt of every step), so all the work
that does not depend on the run happens once, in :class:`CompiledPipeline`:
templates are parsed and analysed, literal values are pre-built, and steps
without any template skip rendering altogether. Plain lookups such as
``{{ steps.plan.output.text }}`` (most templates) are evaluated without Jinja;
anything unusual about them falls back to Jinja itself, so results and error
messages are always Jinja's.

Jinja code generation (~1 ms a template) happens on a template's first use and
is kept: a 10,000-step pipeline would otherwise spend seconds compiling before
its first step, and a worker that runs a few of its steps would pay for all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runwright.errors import ExpressionError, RunwrightError, TemplateSyntaxError
from runwright.spec.models import CacheSpec, Pipeline, StepSpec
from runwright.spec.problems import describe_value, field_label
from runwright.spec.templates import (
    DICT_ATTRS,
    HASH_FILES,
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
# `if:` results that mean "no" when a template rendered to text.
_FALSY_TEXT = frozenset({"", "false", "no", "off", "0", "none", "null"})


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
class _Site:
    """The step a template belongs to, and how to say where in the file it is."""

    step_id: str
    index: int
    locate: Locate | None

    def where(self, path: FieldPath) -> str | None:
        return self.locate(("steps", self.index, *path)) if self.locate else None


class _Leaf:
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

    def __init__(self, site: _Site, path: FieldPath, label: str, info: TemplateInfo) -> None:
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


class _Dict:
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


class _List:
    __slots__ = ("items",)

    def __init__(self, items: list[tuple[bool, Any]]) -> None:
        self.items = items

    def render(self, context: Mapping[str, Any]) -> list[Any]:
        return [node.render(context) if dynamic else node for dynamic, node in self.items]


def _compile_value(site: _Site, path: FieldPath, value: Any) -> tuple[bool, Any]:
    """``(has_templates, value_or_renderer)`` for a literal value from the spec."""
    if isinstance(value, str):
        if not has_template(value):
            return False, value
        return True, _leaf(site, path, value, bare=False)
    if isinstance(value, dict):
        compiled = {k: _compile_value(site, (*path, k), v) for k, v in value.items()}
        if not any(dynamic for dynamic, _ in compiled.values()):
            return False, value
        base = {k: (None if dynamic else v) for k, (dynamic, v) in compiled.items()}
        return True, _Dict(base, [(k, v) for k, (dynamic, v) in compiled.items() if dynamic])
    if isinstance(value, list | tuple):
        items = [_compile_value(site, (*path, i), v) for i, v in enumerate(value)]
        if not any(dynamic for dynamic, _ in items):
            return False, list(value)
        return True, _List(items)
    return False, value


def _leaf(site: _Site, path: FieldPath, source: str, *, bare: bool) -> _Leaf:
    label = field_label(path)
    try:
        info = analyse_expression(source) if bare else analyse(source)
        return _Leaf(site, path, label, info)
    except TemplateSyntaxError as exc:
        where = site.where(path)
        at = f" ({where})" if where else ""
        raise ExpressionError(
            f"step {site.step_id!r} {label}{at}: template syntax error: {exc.message}",
            step_id=site.step_id,
            field=label,
            location=where,
        ) from exc


_NO_REFS: frozenset[str] = frozenset()  # shared: most steps reference no other step


class _Step:
    __slots__ = (
        "cache_key",
        "for_each",
        "if_",
        "refs",
        "uses_env",
        "uses_files",
        "with_",
        "with_dynamic",
    )

    def __init__(self, step: StepSpec, by_id: Mapping[str, StepSpec], site: _Site) -> None:
        sid = step.id
        # Static values are kept as the spec holds them (not copied): rendering copies.
        self.with_dynamic, self.with_ = _compile_value(site, ("with",), step.with_)
        self.if_: Any = step.if_
        if isinstance(step.if_, str):
            self.if_ = _leaf(site, ("if",), step.if_, bare=not has_template(step.if_))
        self.for_each: Any = step.for_each
        if isinstance(step.for_each, str):
            bare = not has_template(step.for_each)
            self.for_each = _leaf(site, ("for_each",), step.for_each, bare=bare)
        elif isinstance(step.for_each, list):
            self.for_each = _compile_value(site, ("for_each",), step.for_each)[1]
        self.cache_key: Any = None
        if isinstance(step.cache, CacheSpec):
            self.cache_key = _compile_value(site, ("cache", "key"), step.cache.key)[1]
        refs: set[Ref] = set()
        for node in (self.with_, self.if_, self.for_each, self.cache_key):
            refs.update(_refs(node))
        self.uses_env = any(r.root == "env" for r in refs)
        self.uses_files = any(r.root == HASH_FILES for r in refs)
        ids: set[str] = set()
        for ref in refs:
            if ref.root != "steps":
                continue
            if ref.keys and isinstance(ref.keys[0], str) and ref.keys[0] in by_id:
                ids.add(ref.keys[0])
            elif not ref.keys or ref.keys[0] in DICT_ATTRS:
                # `steps[name]`, `steps.items()`: any step it needs may be read
                ids.update(_ancestors(step, by_id))
        ids.discard(sid)
        self.refs = frozenset(ids) if ids else _NO_REFS

    @property
    def is_static(self) -> bool:
        """Whether nothing of the step is rendered: :meth:`of_static` rebuilds it from its spec."""
        return not (
            self.with_dynamic
            or isinstance(self.if_, _Leaf)
            or self.for_each is not None
            or self.cache_key is not None
        )

    @classmethod
    def of_static(cls, step: StepSpec) -> _Step:
        """The compiled form of a step without templates, taken from its spec as it is."""
        self = cls.__new__(cls)
        self.with_dynamic, self.with_, self.if_ = False, step.with_, step.if_
        self.for_each = self.cache_key = None
        self.refs, self.uses_env, self.uses_files = _NO_REFS, False, False
        return self


def _refs(node: Any) -> Iterator[Ref]:
    if isinstance(node, _Leaf):
        yield from node.info.refs
    elif isinstance(node, _Dict):
        for _, child in node.dynamic:
            yield from _refs(child)
    elif isinstance(node, _List):
        for dynamic, child in node.items:
            if dynamic:
                yield from _refs(child)


def _ancestors(step: StepSpec, by_id: Mapping[str, StepSpec]) -> set[str]:
    seen: set[str] = set()
    stack = list(step.needs)
    while stack:
        sid = stack.pop()
        if sid not in seen and sid in by_id:
            seen.add(sid)
            stack.extend(by_id[sid].needs)
    return seen


class CompiledPipeline:
    """Every template of a pipeline compiled once, in a jinja2 ImmutableSandboxedEnvironment.

    The environment uses StrictUndefined: a missing value is an error.

    The context of every call is ``{"inputs": {...}, "steps": {"a": {"output": ...,
    "status": "succeeded"}}, "env": {...}}`` plus ``item``/``index`` inside ``for_each``
    and ``hash_files`` (a :class:`runwright.cachekey.FileHasher`) when a template calls it.

    With ``locate`` (e.g. ``lambda path: loaded.location(*path)``), errors also say
    where in the file the failing template is.
    """

    def __init__(self, pipeline: Pipeline, *, locate: Locate | None = None) -> None:
        self._pipeline = pipeline
        by_id = {s.id: s for s in pipeline.steps}
        self._steps: dict[str, _Step] = {}
        for i, s in enumerate(pipeline.steps):
            step = _Step(s, by_id, _Site(s.id, i, locate))
            # A step without templates is answered from its spec: nothing compiled to keep.
            if not step.is_static:
                self._steps[s.id] = step

    def _step(self, step_id: str) -> _Step:
        step = self._steps.get(step_id)
        if step is not None:
            return step
        try:
            return _Step.of_static(self._pipeline.step(step_id))
        except KeyError:
            raise ExpressionError(f"unknown step {step_id!r}", step_id=step_id) from None

    def references(self, step_id: str) -> frozenset[str]:
        """Ids of the steps whose output/status this step's with/if/for_each read."""
        return self._step(step_id).refs

    def uses_env(self, step_id: str) -> bool:
        """Whether the step's templates read ``env``."""
        return self._step(step_id).uses_env

    def uses_hash_files(self, step_id: str) -> bool:
        """Whether the step's templates call ``hash_files`` (the context must provide it)."""
        return self._step(step_id).uses_files

    def render_cache_key(self, step_id: str, context: Mapping[str, Any]) -> Any:
        """The step's rendered ``cache.key``; ``None`` when it has none."""
        node = self._step(step_id).cache_key
        if isinstance(node, _Leaf | _Dict | _List):
            return node.render(context)
        return node

    def render_with(self, step_id: str, context: Mapping[str, Any]) -> dict[str, Any]:
        """The step's ``with:`` with every template rendered.

        A string that is exactly one ``{{ expr }}`` becomes the expression's value
        (a list stays a list); other templates render to text. The result is a new
        dict, but literal values inside it are shared with the spec: treat it as
        read-only.
        """
        step = self._step(step_id)
        if not step.with_dynamic:
            return dict(step.with_)
        rendered: dict[str, Any] = step.with_.render(context)
        return rendered

    def evaluate_if(self, step_id: str, context: Mapping[str, Any]) -> bool:
        """Whether the step should run (True when it has no ``if``)."""
        condition = self._step(step_id).if_
        if not isinstance(condition, _Leaf):
            return condition is None or bool(condition)
        value = condition.render(context)
        if isinstance(value, str):  # "{{ a }} and {{ b }}" renders to text; read it as a word
            return value.strip().lower() not in _FALSY_TEXT
        try:
            return bool(value)
        except Exception as exc:
            raise condition.error(exc) from exc

    def evaluate_for_each(self, step_id: str, context: Mapping[str, Any]) -> list[Any]:
        """The items a ``for_each`` step runs over; ExpressionError unless a list."""
        node = self._step(step_id).for_each
        if node is None:
            raise ExpressionError(f"step {step_id!r} has no for_each", step_id=step_id)
        value = node.render(context) if isinstance(node, _Leaf | _List) else list(node)
        if not isinstance(value, list | tuple):
            raise ExpressionError(
                f"step {step_id!r} for_each: expected a list, got {describe_value(value)}; "
                "make the expression produce a list",
                step_id=step_id,
                field="for_each",
            )
        return list(value)
