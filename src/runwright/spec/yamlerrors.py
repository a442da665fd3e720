"""Positions in YAML text, and PyYAML's errors as messages that say what to do.

Split from :mod:`runwright.spec.yamlsrc` (which re-exports :class:`Mark`,
:class:`YamlSyntaxError` and :func:`mark_at`): the composer there turns events into
values; this module only says where and why the text is not YAML we accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based line and column in the source text."""

    line: int
    column: int


class YamlSyntaxError(Exception):
    """The text is not YAML we accept; ``mark`` says where parsing stopped."""

    def __init__(self, mark: Mark, message: str) -> None:
        self.mark = mark
        self.message = message
        super().__init__(f"{mark.line}:{mark.column}: {message}")


def yaml_mark(raw: Any) -> Mark:
    """A PyYAML mark (0-based) as a :class:`Mark`."""
    return Mark(raw.line + 1, raw.column + 1) if raw is not None else Mark(1, 1)


def mark_at(text: str, index: int) -> Mark:
    """The line/column of character ``index`` of ``text``."""
    index = max(0, min(index, len(text)))
    line_start = text.rfind("\n", 0, index) + 1
    return Mark(text.count("\n", 0, index) + 1, index - line_start + 1)


def syntax_error(text: str, exc: yaml.YAMLError) -> YamlSyntaxError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = yaml_mark(exc.problem_mark or exc.context_mark)
        if _unclosed_quote(exc):
            # The end of the file is where the parser gave up, not where the mistake is:
            # the context mark is the opening quote of the scalar that never closed.
            start = yaml_mark(exc.context_mark)
            return YamlSyntaxError(
                start, "this quoted string is never closed; add the closing quote"
            )
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            what = f"{exc.problem} ({exc.context})"
        lines = text.split("\n")
        line = lines[mark.line - 1] if 0 < mark.line <= len(lines) else ""
        # libyaml often reports a tab as "a character that cannot start any token".
        if "tab" in what or line[mark.column - 1 : mark.column] == "\t":
            return YamlSyntaxError(mark, f"{what}; indent with spaces, not tabs")
        return YamlSyntaxError(mark, f"{what}; check the indentation, quotes and brackets here")
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character
        shown = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        return YamlSyntaxError(
            mark_at(text, exc.position),
            f"character {shown} is not allowed in YAML ({exc.reason}); remove it",
        )
    return YamlSyntaxError(Mark(1, 1), f"{exc}; check the file is YAML")


def _unclosed_quote(exc: yaml.MarkedYAMLError) -> bool:
    return (
        exc.context_mark is not None
        and "quoted scalar" in (exc.context or "")
        and "end of stream" in (exc.problem or "")
    )


def is_libyaml_depth_limit(exc: yaml.YAMLError) -> bool:
    problem = getattr(exc, "problem", None) or ""
    return "nesting depth" in problem
