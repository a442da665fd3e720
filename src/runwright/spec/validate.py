"""Cross-field checks of a spec: ids, needs, cycles, step kinds and template variables.

Shape is pydantic's job (:mod:`runwright.spec.models`); everything here needs
more than one field at a time. Checks collect :class:`Problem` values rather
than raising, so a user sees every problem of a file at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Protocol

from runwright.errors import TemplateSyntaxError
from runwright.spec.graph import Reachability, cycle_through, strongly_connected
from runwright.spec.inputs import check_type
from runwright.spec.models import CacheSpec, Pipeline, StepSpec
from runwright.spec.problems import Problem, describe_value
from runwright.spec.suggest import did_you_mean, suggest
from runwright.spec.templates import (
    DICT_ATTRS,
    HASH_FILES,
    ROOT_NAMES,
    STEP_ATTRS,
    Ref,
    TemplateInfo,
    analyse,
    analyse_expression,
    has_template,
)
from runwright.spec.yamlsrc import FieldPath


class KindSchema(Protocol):
    """What validation needs to know of a step kind (step-kind classes satisfy it)."""

    @property
    def accepts(self) -> frozenset[str] | None:
        """The ``with:`` keys the kind accepts; ``None`` accepts anything."""
        ...

    @property
    def requires(self) -> frozenset[str]:
        """The ``with:`` keys the kind cannot run without."""
        ...


#: A kind may also offer ``check_with(with_) -> Iterable[(key, message)]``: problems with
#: literal ``with:`` values it can see before running (templates are left to run time).
CheckWith = Callable[[Mapping[str, Any]], Iterable[tuple[str, str]]]


def step_templates(step: StepSpec) -> Iterator[tuple[str, FieldPath, str, bool]]:
    """Every template of a step: ``(field, path in the step, source, is_bare_expression)``.

    ``field`` is ``with``, ``cache``, ``if`` or ``for_each``; bare expressions are
    ``if``/``for_each`` strings written without ``{{ }}``.
    """
    yield from _walk("with", ("with",), step.with_)
    if isinstance(step.cache, CacheSpec):
        yield from _walk("cache", ("cache", "key"), step.cache.key)
    for name, value in (("if", step.if_), ("for_each", step.for_each)):
        if isinstance(value, str):
            yield name, (name,), value, not has_template(value)
        elif isinstance(value, list):
            yield from _walk(name, (name,), value)


def _walk(field: str, path: FieldPath, value: Any) -> Iterator[tuple[str, FieldPath, str, bool]]:
    # Iterative: `with:` data can nest as deep as the YAML reader allows.
    stack: list[tuple[FieldPath, Any]] = [(path, value)]
    while stack:
        at, item = stack.pop()
        if isinstance(item, str):
            if has_template(item):
                yield field, at, item, False
        elif isinstance(item, dict):
            stack.extend(((*at, k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list | tuple):
            stack.extend(((*at, i), v) for i, v in reversed(list(enumerate(item))))


def check_pipeline(
    pipeline: Pipeline, *, kinds: Mapping[str, KindSchema] | None = None
) -> list[Problem]:
    """All cross-field problems of a pipeline that passed shape validation."""
    problems = check_steps(
        list(enumerate(pipeline.steps)),
        all_ids=None,  # every step is valid: the ids are those it finds
        input_names=frozenset(pipeline.inputs),
        kinds=kinds,
    )
    for name, spec in pipeline.inputs.items():
        given = "default" in spec.model_fields_set and spec.default is not None
        if given and not check_type(spec.default, spec.type):
            problems.append(
                Problem(
                    ("inputs", name, "default"),
                    f"default {describe_value(spec.default)} is not of type {spec.type}; "
                    f"change the default or the type",
                )
            )
    return problems


def check_steps(
    steps: Sequence[tuple[int, StepSpec]],
    *,
    all_ids: AbstractSet[str] | None,
    input_names: frozenset[str] | None,
    kinds: Mapping[str, KindSchema] | None = None,
) -> list[Problem]:
    """Check the steps that passed shape validation, given as ``(index in file, step)``.

    ``all_ids`` also holds ids of steps that failed shape validation, so that
    needing them is not reported twice (``None``: the ids of ``steps``);
    ``input_names`` is ``None`` when the inputs themselves are invalid (input
    references are then not checked).
    """
    problems: list[Problem] = []
    by_id: dict[str, tuple[int, StepSpec]] = {}
    for index, step in steps:
        if step.id in by_id:
            first = by_id[step.id][0]
            problems.append(
                Problem(
                    ("steps", index, "id"),
                    f"duplicate step id {step.id!r} (also steps[{first}]); "
                    "give each step its own id",
                )
            )
        else:
            by_id[step.id] = (index, step)
    if all_ids is None:
        all_ids = by_id.keys()
    for index, step in steps:
        problems.extend(_check_needs(index, step, all_ids))
        if kinds is not None:
            problems.extend(_check_kind(index, step, kinds))
    problems.extend(_check_cycles(by_id))
    graph = Reachability(by_id, all_ids)
    for index, step in steps:
        problems.extend(_check_templates(index, step, graph, all_ids, input_names))
        problems.extend(_check_on_fail(index, step, by_id, graph, all_ids))
    return problems


def _check_on_fail(
    index: int,
    step: StepSpec,
    by_id: Mapping[str, tuple[int, StepSpec]],
    graph: Reachability,
    all_ids: AbstractSet[str],
) -> Iterator[Problem]:
    if step.on_fail is None:
        return
    target = step.on_fail.retry_step
    path = ("steps", index, "on_fail", "retry_step")
    if step.for_each is not None:
        yield Problem(
            ("steps", index, "on_fail"),
            f"step {step.id!r} has for_each, which on_fail does not support; "
            "move the loop to a step without for_each",
        )
        return
    if target not in all_ids:
        yield Problem(
            path,
            f"on_fail.retry_step {target!r} is not a step{did_you_mean(target, list(all_ids))}",
        )
        return
    if target not in by_id:
        return  # that step is invalid itself; reported there
    if graph.needs(step, target) is False:
        yield Problem(
            path,
            f"on_fail.retry_step {target!r} must be a step that {step.id!r} (transitively) "
            f"needs; add it to needs, or send the work back to one of its ancestors",
        )
    elif by_id[target][1].for_each is not None:
        yield Problem(path, f"on_fail.retry_step {target!r} has for_each; name a step without it")


def _check_needs(index: int, step: StepSpec, all_ids: AbstractSet[str]) -> Iterator[Problem]:
    for n, need in enumerate(step.needs):
        path = ("steps", index, "needs", n)
        label = ("steps", index, "needs")
        if need == step.id:
            yield Problem(path, f"step {step.id!r} needs itself; remove {need!r}", label=label)
        elif need not in all_ids:
            hint = suggest(need, all_ids - {step.id})
            yield Problem(
                path, f"step {step.id!r} needs {need!r}, which does not exist; {hint}", label=label
            )


def _check_kind(index: int, step: StepSpec, kinds: Mapping[str, KindSchema]) -> Iterator[Problem]:
    kind = kinds.get(step.uses)
    if kind is None:
        hint = suggest(step.uses, kinds)
        yield Problem(("steps", index, "uses"), f"unknown step kind {step.uses!r}; {hint}")
        return
    if kind.accepts is not None:
        for key in step.with_:
            if key not in kind.accepts:
                hint = suggest(key, kind.accepts)
                yield Problem(
                    ("steps", index, "with", key),
                    f"unknown key {key!r} for kind {step.uses!r}; {hint}",
                    at_key=True,
                    label=("steps", index, "with"),
                )
    check_with: CheckWith | None = getattr(kind, "check_with", None)  # optional
    if check_with is not None:
        for key, message in check_with(step.with_):
            yield Problem(("steps", index, "with", key), message)
    missing = sorted(kind.requires - step.with_.keys())
    if missing:
        names = ", ".join(repr(m) for m in missing)
        yield Problem(
            ("steps", index, "with"),
            f"kind {step.uses!r} requires {names}; add {missing[0]}: ... under with:",
        )


def _check_cycles(by_id: Mapping[str, tuple[int, StepSpec]]) -> Iterator[Problem]:
    if all(by_id[n][0] < index for index, step in by_id.values() for n in step.needs if n in by_id):
        return  # every step needs only steps above it (how files are written): no cycle
    graph = {sid: _known_needs(sid, step.needs, by_id) for sid, (_, step) in by_id.items()}
    for component in strongly_connected(graph):
        start = min(component, key=lambda sid: by_id[sid][0])
        cycle = cycle_through(start, set(component), graph)
        yield Problem(
            ("steps", by_id[start][0], "needs"),
            f"steps form a cycle: {' -> '.join(cycle)}; remove one of these needs",
        )


def _known_needs(sid: str, needs: tuple[str, ...], by_id: Mapping[str, object]) -> Sequence[str]:
    # The step's own tuple when every need is another known step (almost always): a
    # 10,000-step check then builds no list per step.
    if all(n in by_id and n != sid for n in needs):
        return needs
    return [n for n in needs if n in by_id and n != sid]


def _check_templates(
    index: int,
    step: StepSpec,
    graph: Reachability,
    all_ids: AbstractSet[str],
    input_names: frozenset[str] | None,
) -> Iterator[Problem]:
    for field, subpath, source, bare in step_templates(step):
        path = ("steps", index, *subpath)
        if not source.strip():
            yield Problem(path, f"{field} is empty; write an expression or remove {field}")
            continue
        try:
            info: TemplateInfo = analyse_expression(source) if bare else analyse(source)
        except TemplateSyntaxError as exc:
            where = f" (line {exc.lineno} of the template)" if "\n" in source.strip() else ""
            fix = "" if "; " in (exc.message or "") else "; fix the template"
            yield Problem(path, f"template syntax error: {exc.message}{where}{fix}")
            continue
        for ref in info.refs:
            message = _check_ref(ref, step, field, graph, all_ids, input_names)
            if message is not None:
                yield Problem(path, message)


def _check_ref(
    ref: Ref,
    step: StepSpec,
    field: str,
    graph: Reachability,
    all_ids: AbstractSet[str],
    input_names: frozenset[str] | None,
) -> str | None:
    root, keys = ref.root, ref.keys
    if root == "inputs":
        if not keys or input_names is None or not isinstance(keys[0], str):
            return None
        name = keys[0]
        if name in input_names or name in DICT_ATTRS:
            return None
        hint = suggest(name, input_names, fallback="declare it under inputs:")
        return f"inputs.{name} is not a declared input; {hint}"
    if root == "steps":
        return _check_step_ref(keys, step, graph, all_ids)
    if root in ("item", "index"):
        if step.for_each is None:
            return f"{root!r} is only defined in steps with for_each; add for_each or remove it"
        if field not in ("with", "cache"):
            return f"{root!r} is not available in {field}; it is only defined in with and cache"
        return None
    if root in ("env", HASH_FILES):
        return None
    hint = suggest(root, ROOT_NAMES, fallback="use inputs, steps, env, item, index or hash_files")
    return f"undefined variable {root!r}; {hint}"


def _check_step_ref(
    keys: tuple[str | int, ...], step: StepSpec, graph: Reachability, all_ids: AbstractSet[str]
) -> str | None:
    if not keys or keys[0] in DICT_ATTRS:
        return None  # `steps[name]` or `steps.items()`: not statically knowable
    target = str(keys[0])
    if target not in all_ids:
        hint = suggest(target, all_ids - {step.id})
        return f"step {step.id!r} uses steps.{target}, which does not exist; {hint}"
    if target == step.id:
        return f"step {step.id!r} uses its own result (steps.{target}); remove the reference"
    if graph.needs(step, target) is False:
        return f"step {step.id!r} uses steps.{target} but does not need it; add {target!r} to needs"
    if len(keys) > 1 and keys[1] not in STEP_ATTRS:
        attr = str(keys[1])
        hint = suggest(attr, STEP_ATTRS, fallback="use .output or .status")
        return f"steps.{target} has no attribute {attr!r}; {hint}"
    return None
