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

from collections.abc import Iterator, Mapping
from typing import Any

from runwright.errors import ExpressionError
from runwright.spec.models import CacheSpec, Pipeline, StepSpec
from runwright.spec.problems import describe_value
from runwright.spec.rendering import (
    DictNode,
    Leaf,
    ListNode,
    Locate,
    Site,
    compile_leaf,
    compile_value,
)
from runwright.spec.templates import DICT_ATTRS, HASH_FILES, Ref, has_template

# `if:` results that mean "no" when a template rendered to text.
_FALSY_TEXT = frozenset({"", "false", "no", "off", "0", "none", "null"})


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

    def __init__(self, step: StepSpec, by_id: Mapping[str, StepSpec], site: Site) -> None:
        sid = step.id
        # Static values are kept as the spec holds them (not copied): rendering copies.
        self.with_dynamic, self.with_ = compile_value(site, ("with",), step.with_)
        self.if_: Any = step.if_
        if isinstance(step.if_, str):
            self.if_ = compile_leaf(site, ("if",), step.if_, bare=not has_template(step.if_))
        self.for_each: Any = step.for_each
        if isinstance(step.for_each, str):
            bare = not has_template(step.for_each)
            self.for_each = compile_leaf(site, ("for_each",), step.for_each, bare=bare)
        elif isinstance(step.for_each, list):
            self.for_each = compile_value(site, ("for_each",), step.for_each)[1]
        self.cache_key: Any = None
        if isinstance(step.cache, CacheSpec):
            self.cache_key = compile_value(site, ("cache", "key"), step.cache.key)[1]
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
            or isinstance(self.if_, Leaf)
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
    if isinstance(node, Leaf):
        yield from node.info.refs
    elif isinstance(node, DictNode):
        for _, child in node.dynamic:
            yield from _refs(child)
    elif isinstance(node, ListNode):
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
            step = _Step(s, by_id, Site(s.id, i, locate))
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
        if isinstance(node, Leaf | DictNode | ListNode):
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
        if not isinstance(condition, Leaf):
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
        value = node.render(context) if isinstance(node, Leaf | ListNode) else list(node)
        if not isinstance(value, list | tuple):
            raise ExpressionError(
                f"step {step_id!r} for_each: expected a list, got {describe_value(value)}; "
                "make the expression produce a list",
                step_id=step_id,
                field="for_each",
            )
        return list(value)
