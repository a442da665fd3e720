"""What an attempt changed: a snapshot of its worktree as one diff against its base."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runwright.errors import GitError, PatchConflict
from runwright.repo.git import git
from runwright.repo.worktree import Worktree


@dataclass(frozen=True, slots=True)
class Diff:
    """A binary-safe diff (``git diff --binary``) and its files and line counts."""

    text: str
    files: tuple[str, ...]
    added: int
    removed: int

    @property
    def empty(self) -> bool:
        return not self.text.strip()


#: The diff text must not depend on the user's git configuration: the patch id is its hash,
#: and ``diff.noprefix`` / ``diff.mnemonicPrefix`` would even make it unappliable.
DIFF_OPTIONS = (
    "--binary",
    "--full-index",
    "--no-renames",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--unified=3",
    "--diff-algorithm=myers",
    "--indent-heuristic",
)


async def diff_between(wt: Worktree, base: str, head: str = "HEAD") -> Diff:
    """The diff ``base..head`` in the worktree, with its numstat."""
    raw = (await git(wt.path, "diff", *DIFF_OPTIONS, base, head)).raw
    stat = await git(wt.path, "diff", "--numstat", "-z", "--no-renames", base, head)
    files: list[str] = []
    added = removed = 0
    for entry in stat.out.split("\0"):
        if not entry:
            continue
        plus, minus, path = entry.split("\t", 2)
        files.append(path)
        # Binary files count as no lines ("-").
        added += int(plus) if plus.isdigit() else 0
        removed += int(minus) if minus.isdigit() else 0
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        text = await _as_binary(wt, base, head, tuple(files))
    return Diff(text, tuple(files), added, removed)


def _attribute_pattern(path: str) -> str:
    """A .gitattributes pattern matching exactly ``path`` (glob characters escaped)."""
    pattern = "/" + re.sub(r"([\\*?\[\]!#])", r"\\\1", path)
    if re.search(r'[\s"]', pattern):  # C-style quoting, the only way to match spaces
        pattern = '"' + pattern.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return pattern


async def _as_binary(wt: Worktree, base: str, head: str, files: tuple[str, ...]) -> str:
    """The diff again, text files that are not UTF-8 treated as binary (their bytes kept).

    Decoding them with replacement characters would corrupt the patch silently.
    """
    odd: list[str] = []
    for path in files:
        one = (await git(wt.path, "diff", *DIFF_OPTIONS, base, head, "--", path)).raw
        try:
            one.decode()
        except UnicodeDecodeError:
            odd.append(path)
    with tempfile.NamedTemporaryFile("w", suffix=".gitattributes", delete=False) as f:
        f.writelines(f"{_attribute_pattern(path)} binary\n" for path in odd)
    try:
        attributes = ("-c", f"core.attributesFile={f.name}")
        raw = (await git(wt.path, *attributes, "diff", *DIFF_OPTIONS, base, head)).raw
    finally:
        Path(f.name).unlink(missing_ok=True)
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise GitError(
            f"the diff of {base[:12]}..{head[:12]} in {wt.path} is not UTF-8 even with "
            f"{', '.join(odd)} treated as binary (a .gitattributes rule overrides it?); "
            "mark those files `binary` in .gitattributes"
        ) from exc


async def snapshot(wt: Worktree, message: str, *, exclude: tuple[str, ...] = ()) -> Diff:
    """Commit everything in the worktree (untracked files too), then diff base..HEAD.

    Work the agent committed itself and work it left uncommitted both count;
    ``exclude`` paths (e.g. an instruction file runwright wrote) are left out.
    """
    await git(wt.path, "add", "-A", "--", ".", *(f":(exclude){p}" for p in exclude))
    # Plumbing rather than `git commit`, which refreshes the index and prints a summary
    # again: 9 ms of an agent step's 20 on a 1,000-file repository.
    tree = (await git(wt.path, "write-tree")).out.strip()
    head, head_tree = (await git(wt.path, "rev-parse", "HEAD", "HEAD^{tree}")).out.split()
    if tree != head_tree:
        made = await git(wt.path, "commit-tree", tree, "-p", head, "-m", message)
        commit = made.out.strip()
        await git(wt.path, "update-ref", "-m", f"commit: {message}", "HEAD", commit, head)
    return await diff_between(wt, wt.base)


async def apply_to_worktree(wt: Worktree, diff_text: str) -> None:
    """Apply a diff to the worktree's files and index; :class:`PatchConflict` if it cannot."""
    if not diff_text.strip():
        return
    data = diff_text.encode()
    plain = await git(wt.path, "apply", "--index", "--binary", "-", input=data, check=False)
    if plain.code == 0:
        return
    merged = await git(
        wt.path, "apply", "--index", "--3way", "--binary", "-", input=data, check=False
    )
    if merged.code == 0:
        return
    unmerged = await git(wt.path, "diff", "--name-only", "--diff-filter=U", check=False)
    files = sorted(set(unmerged.out.split()) | set(_failing_paths(merged.err or plain.err)))
    raise PatchConflict(
        f"the patch does not apply to {wt.branch or wt.path}: "
        f"{', '.join(files) or merged.err.strip()[-300:]}",
        files=files,
    )


def _failing_paths(err: str) -> list[str]:
    # git apply says "error: patch failed: PATH:LINE" / "error: PATH: does not exist in index".
    paths: list[str] = []
    for line in err.splitlines():
        if line.startswith("error: patch failed: "):
            paths.append(line[len("error: patch failed: ") :].rsplit(":", 1)[0])
        elif line.startswith("error: ") and ": " in line[7:]:
            candidate = line[7:].split(": ", 1)[0]
            if "/" in candidate or "." in candidate:
                paths.append(candidate)
    return paths
