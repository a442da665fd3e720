"""The step's ``instructions`` for the agent, and what never belongs in its patch.

A preset with an instruction file (``CLAUDE.md``, ``AGENTS.md``) gets the
instructions there, in the worktree, after whatever the repository's own file
says; before the diff is taken the file is put back as the base commit has it,
so the patch never contains it. A preset without one gets a file outside the
worktree. The preset's scratch files (aider's caches) are removed when untracked.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from runwright.agents.preset import Preset


@dataclass(frozen=True, slots=True)
class Placed:
    """Where the instructions went: in the worktree (put back before the diff) or outside."""

    path: Path | None
    in_worktree: bool


NOTHING = Placed(None, False)


def place(text: str | None, preset: Preset, *, worktree: Path, outside: Path) -> Placed:
    """Write ``text`` where ``preset`` reads instructions; ``outside``: the fallback file."""
    if not text:
        return NOTHING
    if preset.instruction_file is None:
        outside.parent.mkdir(parents=True, exist_ok=True)
        outside.write_text(text, encoding="utf-8")
        return Placed(outside, False)
    path = worktree / preset.instruction_file
    before = path.read_bytes() if path.is_file() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    head = b"" if before is None else before.rstrip(b"\n") + b"\n\n"
    path.write_bytes(head + text.encode("utf-8") + b"\n")
    return Placed(path, True)


async def restore_from_base(worktree: Path, base: str, preset: Preset) -> None:
    """Put the instruction file back as ``base`` has it (absent: removed).

    Done from the base commit rather than from memory, so an attempt that recovers
    a crashed one's worktree restores it too.
    """
    from runwright.repo.git import git

    if preset.instruction_file is None:
        return
    rel = preset.instruction_file
    shown = await git(worktree, "show", f"{base}:{rel}", check=False)
    path = worktree / rel
    if shown.code == 0:
        path.write_bytes(shown.raw)
    else:
        path.unlink(missing_ok=True)


async def remove_scratch(preset: Preset, worktree: Path) -> list[str]:
    """Delete the untracked files matching the preset's scratch globs; their paths."""
    from runwright.repo.git import git

    if not preset.scratch:
        return []
    listing = await git(worktree, "ls-files", "--others", "--exclude-standard", "-z")
    out = listing.out
    text = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
    removed: list[str] = []
    for rel in filter(None, text.split("\0")):
        first = rel.split("/", 1)[0]
        if any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(first, g) for g in preset.scratch):
            (worktree / rel).unlink(missing_ok=True)
            removed.append(rel)
    return removed
