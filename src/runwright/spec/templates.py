"""Static analysis of the Jinja2 templates in a spec: the sandbox and what each template reads.

Shared by :mod:`runwright.spec.validate` (undefined variables are spec errors)
and :mod:`runwright.spec.expressions` (which step outputs a step reads, and a
fast path that renders plain ``{{ a.b.c }}`` lookups without Jinja).

Jinja2 is imported only when a template needs it: plain text and plain lookups
never do, so most specs load without it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runwright.errors import TemplateSyntaxError
from runwright.spec.suggest import suggest

if TYPE_CHECKING:
    from jinja2 import nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

#: The only names a template may use (besides Jinja's own globals such as ``range``).
#: The template function that digests files (``runwright.cachekey.FileHasher``).
HASH_FILES = "hash_files"
ROOT_NAMES = frozenset({"inputs", "steps", "item", "index", "env", HASH_FILES})
#: Deeper syntax trees are spec problems: Jinja compiles templates recursively, and
#: Python's compiler refuses ~200 nested brackets in the code Jinja generates.
MAX_TEMPLATE_DEPTH = 60
#: What ``steps.<id>`` offers.
STEP_ATTRS = frozenset({"output", "status"})

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# One accessor of a plain lookup chain: `.name`, `[0]`, `['key']` or `["key"]`.
_ACCESSOR = re.compile(r"\.(" + _IDENT + r")|\[(\d+)\]|\['([^'\\]*)'\]|\[\"([^\"\\]*)\"\]")
_CHAIN = re.compile(_IDENT + r"(?:\.(?:" + _IDENT + r")|\[\d+\]|\['[^'\\]*'\]|\[\"[^\"\\]*\"\])*")
_SIMPLE_TAG = re.compile(r"\{\{\s*(" + _CHAIN.pattern + r")\s*\}\}")
_SINGLE = re.compile(r"\s*\{\{(?![-+])(.*?)(?<![-+])\}\}\s*", re.DOTALL)
# Jinja words that parse as constants or operators, never as a variable lookup.
_RESERVED = frozenset(
    {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if"}
)
#: A `.name` that is also a dict method resolves to the method in Jinja, so the
#: fast path (plain key lookup) leaves it to Jinja and checks do not treat it as a key.
DICT_ATTRS = frozenset(dir(dict))
# Names Jinja binds itself inside loops, macros and call blocks.
_JINJA_LOCALS = frozenset({"loop", "caller", "varargs", "kwargs", "self", "super"})


@dataclass(frozen=True, slots=True)
class Ref:
    """A variable a template reads.

    ``steps.a.output.x`` is ``Ref("steps", ("a", "output", "x"))``.
    """

    root: str
    #: Constant keys after the root, up to the first computed one.
    keys: tuple[str | int, ...] = ()
    #: A computed key (``steps[name]``) followed ``keys``; what comes after is unknown.
    dynamic: bool = False


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """What one template string (or bare expression) is and reads."""

    source: str
    refs: tuple[Ref, ...]
    #: The inner expression when the whole string is one ``{{ expr }}`` (a native value).
    expression: str | None
    #: For templates made only of text and plain ``{{ a.b }}`` lookups: text and refs in
    #: order, so they render without Jinja. ``None`` for anything else.
    parts: tuple[str | Ref, ...] | None


def has_template(text: str) -> bool:
    """Whether a string contains Jinja markup at all (strings without it are literal)."""
    return "{{" in text or "{%" in text


def _tojson(value: Any, indent: int | None = None) -> str:
    # Jinja's own tojson escapes <, >, & and ' for HTML and returns Markup; a pipeline
    # wants plain JSON (shell commands, prompts).
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False)


def _fromjson(text: str) -> Any:
    return json.loads(text)


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    """The one sandbox every template of every spec is compiled in.

    Immutable sandbox: templates cannot call ``list.append`` or reach Python
    internals. StrictUndefined: a missing value is an error, never an empty string.
    ``keep_trailing_newline`` so a template renders exactly like its text.
    """
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.filters["tojson"] = _tojson
    env.filters["fromjson"] = _fromjson
    return env


def parse_chain(text: str) -> Ref | None:
    """``steps.a.output['x'][0]`` → a :class:`Ref`; ``None`` unless it is such a plain chain."""
    if not _CHAIN.fullmatch(text):
        return None
    root = re.match(_IDENT, text)
    assert root is not None  # guaranteed by the fullmatch above
    if root.group() in _RESERVED:
        return None
    keys: list[str | int] = []
    for m in _ACCESSOR.finditer(text, root.end()):
        if m.group(1) is not None:
            if m.group(1) in DICT_ATTRS:
                return None
            keys.append(m.group(1))
        elif m.group(2) is not None:
            keys.append(int(m.group(2)))
        else:
            keys.append(m.group(3) if m.group(3) is not None else m.group(4))
    return Ref(root.group(), tuple(keys))


def _simple_parts(source: str) -> tuple[str | Ref, ...] | None:
    parts: list[str | Ref] = []
    pos = 0
    for m in _SIMPLE_TAG.finditer(source):
        ref = parse_chain(m.group(1))
        if ref is None:
            return None
        if m.start() > pos:
            parts.append(source[pos : m.start()])
        parts.append(ref)
        pos = m.end()
    if pos < len(source):
        parts.append(source[pos:])
    # Any markup left in the text (`{%`, `{#`, `{{ a + b }}`) needs the real Jinja.
    if any(isinstance(p, str) and ("{{" in p or "{%" in p or "{#" in p) for p in parts):
        return None
    return tuple(parts)


def _chain_of(node: nodes.Getattr | nodes.Getitem) -> tuple[Ref | None, list[nodes.Node]]:
    """The ref a Getattr/Getitem chain reads, plus the sub-nodes still to visit."""
    from jinja2 import nodes

    keys: list[str | int] = []
    dynamic = False
    rest: list[nodes.Node] = []
    cur: nodes.Node = node
    while True:
        if isinstance(cur, nodes.Getattr):
            keys.append(cur.attr)
            cur = cur.node
        elif isinstance(cur, nodes.Getitem):
            arg = cur.arg
            value = arg.value if isinstance(arg, nodes.Const) else None
            if isinstance(value, str | int) and not isinstance(value, bool):
                keys.append(value)
            else:  # everything read so far comes after a computed key: unknown
                keys.clear()
                dynamic = True
                rest.append(arg)
            cur = cur.node
        elif isinstance(cur, nodes.Name) and cur.ctx == "load":
            return Ref(cur.name, tuple(reversed(keys)), dynamic), rest
        else:
            rest.append(cur)
            return None, rest


def _refs_of(tree: nodes.Node, env: ImmutableSandboxedEnvironment) -> tuple[Ref, ...]:
    # Names bound anywhere in the template ({% for %}, {% set %}, macro arguments)
    # are treated as local everywhere: a missed check is better than a false alarm.
    from jinja2 import nodes

    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    local |= {n.name for n in tree.find_all(nodes.Macro)}
    local |= _JINJA_LOCALS | set(env.globals)
    refs: list[Ref] = []
    stack: list[nodes.Node] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.Name):
            if node.ctx == "load" and node.name not in local:
                refs.append(Ref(node.name))
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            ref, rest = _chain_of(node)
            if ref is not None and ref.root not in local:
                refs.append(ref)
            stack.extend(rest)
        else:
            stack.extend(node.iter_child_nodes())
    return tuple(dict.fromkeys(refs))


def _too_deep(lineno: int = 1) -> TemplateSyntaxError:
    return TemplateSyntaxError(
        f"expression nested too deeply (more than {MAX_TEMPLATE_DEPTH} levels); "
        "split it into smaller expressions or compute the value in a step",
        lineno=lineno,
    )


def _check_depth(tree: nodes.Node) -> None:
    """Refuse trees Jinja's recursive code generator (and Python's compiler) cannot take.

    Iterative, so the check itself cannot hit the recursion limit.
    """
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TEMPLATE_DEPTH:
            raise _too_deep(getattr(node, "lineno", 1) or 1)
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())


def _parse(source: str, *, bare: bool) -> nodes.Node:
    """Jinja's syntax tree of a template (or bare expression), depth-checked."""
    from jinja2 import TemplateSyntaxError as JinjaSyntaxError
    from jinja2.parser import Parser

    env = environment()
    try:
        if not bare:
            tree: nodes.Node = env.parse(source)
        else:
            # The same parser entry point env.compile_expression uses.
            parser = Parser(env, source, state="variable")
            tree = parser.parse_expression()
            if not parser.stream.eos:
                parser.fail("unexpected text after the expression", parser.stream.current.lineno)
    except JinjaSyntaxError as exc:
        raise TemplateSyntaxError(exc.message or "invalid syntax", lineno=exc.lineno) from exc
    except RecursionError:  # Jinja's parser recurses once per bracket level
        raise _too_deep() from None
    _check_depth(tree)
    return tree


@functools.lru_cache(maxsize=16384)
def analyse(source: str) -> TemplateInfo:
    """Analyse a template string; raises :class:`~runwright.errors.TemplateSyntaxError`."""
    single = _SINGLE.fullmatch(source)
    inner = single.group(1) if single and not _has_markup(single.group(1)) else None
    parts = _simple_parts(source)
    if parts is not None:
        refs = tuple(dict.fromkeys(p for p in parts if isinstance(p, Ref)))
        return TemplateInfo(source, refs, inner, parts)
    return TemplateInfo(source, _refs_of(_parse(source, bare=False), environment()), inner, None)


@functools.lru_cache(maxsize=16384)
def analyse_expression(source: str) -> TemplateInfo:
    """Analyse a bare expression (``steps.a.output.ok``); raises ``TemplateSyntaxError``."""
    ref = parse_chain(source.strip())
    if ref is not None:
        return TemplateInfo(source, (ref,), source, (ref,))
    expr = _parse(source, bare=True)
    return TemplateInfo(source, _refs_of(expr, environment()), source, None)


def _has_markup(text: str) -> bool:
    return "{{" in text or "}}" in text or "{%" in text or "{#" in text


def missing_key(refs: tuple[Ref, ...], context: Mapping[str, Any] | None) -> str | None:
    """``"steps.a.output has no key 'stdot'; did you mean 'stdout'?"`` for the first
    ref of a template that names a key its value does not have; ``None`` if none does."""
    if context is None:
        return None
    for ref in refs:
        if ref.root not in context:
            continue
        value, where = context[ref.root], ref.root
        for key in ref.keys:
            if isinstance(value, dict):
                if key in value:
                    value = value[key]
                    where += f".{key}" if isinstance(key, str) else f"[{key}]"
                    continue
                if isinstance(key, str) and key in DICT_ATTRS:
                    break  # `.items` and friends are methods, not keys
                keys = [k for k in value if isinstance(k, str)]
                shown = ", ".join(repr(k) for k in sorted(keys)[:8]) + (
                    ", …" if len(keys) > 8 else ""
                )
                fallback = f"its keys are {shown}" if keys else "it has no keys"
                return f"{where} has no key {key!r}; {suggest(str(key), keys, fallback=fallback)}"
            if isinstance(value, list | tuple) and isinstance(key, int) and abs(key) < len(value):
                value, where = value[key], f"{where}[{key}]"
                continue
            break
    return None
