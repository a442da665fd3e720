"""YAML text → plain Python values, remembering where every value came from.

PyYAML's own ``compose``/``load`` would do most of this, but not safely: it
silently keeps the last of duplicate keys, it recurses once per nesting level
(libyaml's composer segfaults on ~100k nested brackets), and aliases can expand
exponentially ("billion laughs"). So we drive the event stream ourselves with an
explicit stack, which gives us positions, duplicate-key detection and limits in
one pass; libyaml (``CSafeLoader``) parses when available, pure Python otherwise.

Mapping keys are always taken as the text written (``on: x`` has the key
``"on"``, not ``True``): every key in a pipeline is a name. Values follow YAML
1.1 as PyYAML does, except timestamps stay strings (JSON has no dates).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml import events

from runwright.spec.yamlerrors import Mark as Mark
from runwright.spec.yamlerrors import YamlSyntaxError as YamlSyntaxError
from runwright.spec.yamlerrors import (
    is_libyaml_depth_limit,
    mark_at,
    syntax_error,
    yaml_mark,
)

try:  # libyaml is ~30x faster; fall back to the pure-Python parser when it is absent.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

#: A location inside the document: mapping keys and sequence indexes, outermost first.
FieldPath = tuple[str | int, ...]
#: Called with each finished mapping or sequence: ``(path, value) -> value to keep``.
Finish = Callable[[FieldPath, Any], Any]

#: Deeper nesting than this is rejected (a pipeline needs maybe ten levels).
MAX_DEPTH = 100
#: Values after expanding aliases; guards pydantic and hashing against alias bombs.
MAX_NODES = 2_000_000

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_TAG + "str", _TAG + "null", _TAG + "bool", _TAG + "int", _TAG + "float"}
_KEEP_AS_TEXT = {_TAG + "timestamp", _TAG + "value", _TAG + "merge"}
_MAP_TAGS = {None, "!", _TAG + "map"}
_SEQ_TAGS = {None, "!", _TAG + "seq"}
_MERGE = object()  # the key of a ``<<: *base`` merge
#: Text values up to this length are kept once: a 10,000-step file repeats them 10,000 times.
_INTERN_UP_TO = 64


class SourceMap:
    """Where each value (and each mapping key) of a document starts."""

    __slots__ = ("_keys", "_values")

    def __init__(
        self,
        values: dict[FieldPath, Mark] | None = None,
        keys: dict[FieldPath, Mark] | None = None,
    ) -> None:
        self._values = values or {}
        self._keys = keys or {}

    def value(self, path: FieldPath) -> Mark:
        """Position of the value at ``path``, or of its nearest recorded parent."""
        for end in range(len(path), -1, -1):
            mark = self._values.get(path[:end])
            if mark is not None:
                return mark
        return Mark(1, 1)

    def key(self, path: FieldPath) -> Mark:
        """Position of the mapping key naming ``path`` (the value's when there is no key)."""
        return self._keys.get(path) or self.value(path)

    def __contains__(self, path: object) -> bool:
        return path in self._values


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed document: its data, positions, and problems that did not stop parsing."""

    data: Any
    source_map: SourceMap
    #: ``(path, mark, message)`` for duplicate keys, unsupported tags, bad scalars.
    problems: tuple[tuple[FieldPath, Mark, str], ...] = ()


class _Frame:
    """An open mapping or sequence while its children are being read."""

    __slots__ = (
        "anchor",
        "container",
        "is_map",
        "key",
        "key_mark",
        "mark",
        "merged",
        "path",
        "size",
    )

    def __init__(self, container: Any, path: FieldPath, anchor: str | None, mark: Mark) -> None:
        self.container = container
        self.mark = mark
        self.is_map = isinstance(container, dict)
        self.path = path
        self.anchor = anchor
        self.size = 1
        self.key: Any = None  # the pending key of a mapping, once read
        self.key_mark = Mark(1, 1)
        self.merged: list[tuple[Any, Mark]] = []


class _Composer:
    def __init__(
        self,
        text: str,
        max_depth: int,
        max_nodes: int,
        pure_python: bool,
        positions: bool,
        finish: Finish | None,
    ) -> None:
        self.loader = yaml.SafeLoader(text) if pure_python else _Loader(text)
        self.positions = positions
        self.finish = finish
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.values: dict[FieldPath, Mark] = {}
        self.keys: dict[FieldPath, Mark] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.texts: dict[str, str] = {}
        self.problems: list[tuple[FieldPath, Mark, str]] = []
        self.total = 0

    def run(self) -> Any:
        loader = self.loader
        loader.get_event()  # StreamStart
        if loader.check_event(events.StreamEndEvent):
            return None
        loader.get_event()  # DocumentStart
        data = self._document()
        loader.get_event()  # DocumentEnd
        if loader.check_event(events.DocumentStartEvent):
            raise YamlSyntaxError(
                yaml_mark(self._next(peek=True).start_mark),
                "found a second YAML document; a pipeline file holds one document, "
                "so remove the '---' separator or split the file",
            )
        return data

    def _next(self, *, peek: bool = False) -> events.Event:
        event = self.loader.peek_event() if peek else self.loader.get_event()
        if event is None:  # the parser always ends a stream with StreamEnd first
            raise YamlSyntaxError(Mark(1, 1), "unexpected end of the YAML stream; finish the file")
        return event

    def _document(self) -> Any:
        stack: list[_Frame] = []
        while True:
            event = self._next()
            mark = yaml_mark(event.start_mark)
            top = stack[-1] if stack else None
            if (
                top is not None
                and top.is_map
                and top.key is None
                and not isinstance(event, events.MappingEndEvent)
            ):
                self._read_key(top, event, mark)
                continue
            path = self._child_path(top)
            if isinstance(event, events.ScalarEvent):
                value = self._scalar(event, path, mark)
                self._count(1, mark)
                if event.anchor:
                    self.anchors[event.anchor] = (value, 1)
                done, size = value, 1
            elif isinstance(event, events.AliasEvent):
                if event.anchor not in self.anchors:
                    raise YamlSyntaxError(
                        mark,
                        f"alias *{event.anchor} refers to no earlier anchor; "
                        f"define &{event.anchor} before using it",
                    )
                done, size = self.anchors[event.anchor]
                self._count(size, mark)
            elif isinstance(event, events.MappingStartEvent | events.SequenceStartEvent):
                is_map = isinstance(event, events.MappingStartEvent)
                if len(stack) >= self.max_depth:
                    raise YamlSyntaxError(
                        mark, f"nesting is deeper than {self.max_depth} levels; flatten the data"
                    )
                if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    self._problem(path, mark, f"unsupported tag {event.tag}; remove the tag")
                self._count(1, mark)
                if self.positions:
                    self.values[path] = mark
                stack.append(_Frame({} if is_map else [], path, event.anchor, mark))
                continue
            else:  # MappingEnd / SequenceEnd
                frame = stack.pop()
                self._merge(frame)
                if frame.anchor:
                    self.anchors[frame.anchor] = (frame.container, frame.size)
                done, size, mark = frame.container, frame.size, frame.mark
                if self.finish is not None:
                    done = self.finish(frame.path, done)
                top = stack[-1] if stack else None
            if top is None:
                if self.positions:
                    self.values.setdefault((), mark)
                return done
            self._attach(top, done, mark, size)

    def _read_key(self, frame: _Frame, event: events.Event, mark: Mark) -> None:
        if not isinstance(event, events.ScalarEvent):
            raise YamlSyntaxError(
                mark, "a mapping key must be a plain name, not a list, mapping or alias; quote it"
            )
        plain = event.tag is None and event.implicit[0]
        # Keys repeat in every step (id, uses, with, ...): one copy of each.
        frame.key = _MERGE if plain and event.value == "<<" else sys.intern(event.value)
        frame.key_mark = mark
        self._count(1, mark)

    @staticmethod
    def _child_path(top: _Frame | None) -> FieldPath:
        if top is None:
            return ()
        if top.is_map:
            return (*top.path, top.key if isinstance(top.key, str) else "<<")
        return (*top.path, len(top.container))

    def _attach(self, frame: _Frame, value: Any, mark: Mark, size: int) -> None:
        frame.size += size
        if not frame.is_map:
            if self.positions:
                self.values.setdefault((*frame.path, len(frame.container)), mark)
            frame.container.append(value)
            return
        key, frame.key = frame.key, None
        if key is _MERGE:
            frame.merged.append((value, mark))
            return
        path = (*frame.path, key)
        if key in frame.container:
            # Without positions this problem sends the caller back for a second pass.
            first = self.keys.get(path, Mark(0, 0))
            self._problem(
                path,
                frame.key_mark,
                f"duplicate key {key!r} (first set at line {first.line}); remove one of them",
            )
            return
        frame.container[key] = value
        if self.positions:
            self.keys[path] = frame.key_mark
            self.values[path] = mark

    def _merge(self, frame: _Frame) -> None:
        # YAML merge keys: explicit keys win over merged ones, earlier merges over later.
        for value, mark in frame.merged:
            sources = value if isinstance(value, list) else [value]
            for source in sources:
                if not isinstance(source, dict):
                    self._problem(
                        (*frame.path, "<<"), mark, "'<<' must merge a mapping or a list of mappings"
                    )
                    continue
                for key, item in source.items():
                    if key not in frame.container:
                        frame.container[key] = item
                        if self.positions:
                            self.values[(*frame.path, key)] = mark

    def _scalar(self, event: events.ScalarEvent, path: FieldPath, mark: Mark) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(  # type: ignore[no-untyped-call]
                yaml.ScalarNode, event.value, event.implicit
            )
        if tag == _TAG + "str" or tag in _KEEP_AS_TEXT:
            # Names and kinds repeat in every step ("python", "pkg.mod:func"): one copy.
            value: str = event.value
            # A memo of this document, not sys.intern: unique values (10,000 step ids)
            # would grow the interpreter's table for good.
            return self.texts.setdefault(value, value) if len(value) <= _INTERN_UP_TO else value
        if tag not in _PLAIN_TAGS:
            self._problem(path, mark, f"unsupported tag {tag}; remove the tag")
            return event.value
        node = yaml.ScalarNode(tag, event.value)
        try:
            # Call the constructor directly: construct_object would cache every node.
            return self.loader.yaml_constructors[tag](self.loader, node)
        except (ValueError, ArithmeticError, yaml.YAMLError) as exc:
            # e.g. an integer beyond Python's 4300-digit str->int limit, or `!!int abc`
            self._problem(
                path,
                mark,
                f"cannot read {event.value[:40]!r} as {tag[len(_TAG) :]}: "
                f"{str(exc).splitlines()[0][:80]}; write a smaller or plain value",
            )
            return None

    def _count(self, size: int, mark: Mark) -> None:
        self.total += size
        if self.total > self.max_nodes:
            raise YamlSyntaxError(
                mark,
                f"the document expands to more than {self.max_nodes} values "
                "(aliases repeated inside aliases?); simplify it",
            )

    def _problem(self, path: FieldPath, mark: Mark, message: str) -> None:
        self.problems.append((path, mark, message))


def compose(
    text: str,
    *,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
    pure_python: bool = False,
    positions: bool = True,
    finish: Finish | None = None,
) -> YamlDocument:
    """Parse one YAML document; raise :class:`YamlSyntaxError` for text that is not valid YAML.

    ``pure_python`` forces PyYAML's Python parser (what runs where libyaml is missing).
    ``positions=False`` leaves the source map empty: a map of every value's position
    is most of the memory of loading a large pipeline (40 of 60 MB for 10,000
    steps), and only problems need it; the document's own problems still have theirs.
    ``finish(path, value)`` is called as each mapping or sequence is complete and its
    result stands in the document for the value: a caller can turn parts into their
    final form while the rest is read, so that the raw part is freed at once.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates: libyaml would raise a bare error
        raise YamlSyntaxError(
            mark_at(text, exc.start), "the text contains an invalid character; remove it"
        ) from None
    composer = None
    try:
        # Inside the try: the pure-Python reader rejects bad characters on construction.
        composer = _Composer(text, max_depth, max_nodes, pure_python, positions, finish)
        data = composer.run()
    except yaml.YAMLError as exc:
        if not pure_python and is_libyaml_depth_limit(exc):
            # libyaml >= 0.2.6 (PyYAML 6.0.4's wheels) stops at its own nesting limit while
            # scanning ahead, before our composer sees the events. The pure-Python parser has
            # no such limit, so it lets our limit (and its message and position) decide.
            return compose(
                text,
                max_depth=max_depth,
                max_nodes=max_nodes,
                pure_python=True,
                positions=positions,
                finish=finish,
            )
        raise syntax_error(text, exc) from None
    finally:
        if composer is not None:
            composer.loader.dispose()
    return YamlDocument(data, SourceMap(composer.values, composer.keys), tuple(composer.problems))
