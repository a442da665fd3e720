"""An llm step's ``files:``: parts of the reply written into the workspace.

Three forms::

    files: blocks            # every *named* fenced code block of the reply
    files: json.files        # a list of {path, content} (or a {path: content} mapping)
                             # at that place in the JSON reply
    files:                   # explicit: workspace path -> part of the reply
      app.py: block          #   the code block named app.py (or, if no block is named, the first)
      NOTES.md: text         #   the whole reply
      plan.json: json        #   the whole JSON reply
      summary.txt: json.summary   # one JSON field (``json.a.0.b``: keys and list indexes)

A block is named by ``path=NAME`` in its info string (```` ```python path=app.py ````)
or by a first line ``# file: NAME`` (also ``// file:``, ``-- file:``, ``<!-- file: … -->``),
which is not written. Strings are written as they are; other JSON values as
indented JSON. Every write goes through the workspace (atomic, confined to it,
a ``file.written`` event, ``nochange`` when the file already holds the content).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runwright.errors import FatalStepError
from runwright.workspace import FileWrite, Workspace

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
_INFO_PATH = re.compile(r"(?:^|\s)(?:path|file)=(\S+)")
_FIRST_LINE = re.compile(r"^\s*(?:#|//|--|<!--)\s*file:\s*(\S+?)\s*(?:-->)?\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced code block of a reply."""

    name: str | None
    language: str
    content: str


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of ``text``, in order, with their names (if named)."""
    out = []
    for match in _FENCE.finditer(text):
        info, body = match.group(1).strip(), match.group(2)
        named = _INFO_PATH.search(info)
        name = named.group(1) if named else None
        first, _, rest = body.partition("\n")
        by_line = _FIRST_LINE.match(first)
        if by_line:
            name = name or by_line.group(1)
            body = rest
        language = info.split()[0] if info and "=" not in info.split()[0] else ""
        out.append(Block(name, language, body))
    return out


def check_files(value: Any, *, where: str) -> None:
    """Refuse a malformed ``with.files`` before the model is called (and paid)."""
    if value is None or value == "blocks":
        return
    if isinstance(value, str):
        if value == "json" or value.startswith("json."):
            return
    elif isinstance(value, Mapping) and value:
        for path, source in value.items():
            if not isinstance(path, str) or not path:
                raise FatalStepError(f"{where}: with.files keys must be workspace paths")
            if source in ("block", "text", "json") or (
                isinstance(source, str) and source.startswith("json.")
            ):
                continue
            raise FatalStepError(
                f"{where}: with.files.{path} is {source!r}; use block, text, json or json.FIELD"
            )
        return
    raise FatalStepError(
        f"{where}: with.files must be 'blocks', 'json.FIELD' (a list of {{path, content}}) "
        f"or a mapping of paths to block|text|json|json.FIELD, not {value!r}"
    )


def write_files(
    spec: Any, *, text: str, value: Any, workspace: Workspace, where: str
) -> list[dict[str, Any]]:
    """Write what ``spec`` (``with.files``) selects; one record per file written."""
    wanted = _select(spec, text=text, value=value, where=where)
    written: list[FileWrite] = [workspace.write(path, content) for path, content in wanted]
    return [
        {"path": w.path, "sha256": w.sha256, "bytes": w.bytes, "result": w.result} for w in written
    ]


def _select(spec: Any, *, text: str, value: Any, where: str) -> list[tuple[str, str]]:
    if spec == "blocks":
        named = [(b.name, b.content) for b in blocks(text) if b.name]
        if not named:
            raise FatalStepError(
                f"{where}: with.files: blocks, but the reply has no named code block; name "
                "each block with ```LANG path=NAME or a first line '# file: NAME'"
            )
        return [(str(n), c) for n, c in named]
    if isinstance(spec, str):  # json.FIELD holding a list of {path, content} or a mapping
        found = _field(spec, value, where)
        if isinstance(found, Mapping):
            return [(str(k), _content(v)) for k, v in found.items()]
        if isinstance(found, list) and all(
            isinstance(f, Mapping) and isinstance(f.get("path"), str) for f in found
        ):
            return [(f["path"], _content(f.get("content", ""))) for f in found]
        raise FatalStepError(
            f"{where}: with.files: {spec} must be a list of {{path, content}} objects or a "
            f"mapping of paths to contents; the reply has {_short(found)}"
        )
    out = []
    for path, source in spec.items():
        if source == "text":
            out.append((path, text))
        elif source == "block":
            out.append((path, _block(path, text, where)))
        else:
            out.append((path, _content(_field(source, value, where))))
    return out


def _block(path: str, text: str, where: str) -> str:
    found = blocks(text)
    for b in found:
        if b.name == path:
            return b.content
    if found and not any(b.name for b in found):
        return found[0].content
    names = [b.name for b in found if b.name]
    raise FatalStepError(
        f"{where}: with.files.{path}: block, but the reply has no code block named {path!r}"
        + (f" (named blocks: {', '.join(map(str, names))})" if names else " and no code block")
    )


def _field(source: str, value: Any, where: str) -> Any:
    if value is None:
        raise FatalStepError(
            f"{where}: with.files uses {source}, which needs response_format: json"
        )
    current = value
    for part in source.split(".")[1:]:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise FatalStepError(
                f"{where}: with.files: the JSON reply has no {source} (no {part!r} in "
                f"{_short(current)}); require the field in with.schema"
            )
    return current


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:200] + "…"
