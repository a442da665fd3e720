"""Carry a Claude Code session into the worktree of the attempt that continues it.

Claude Code keeps each conversation as ``<id>.jsonl`` under
``$CLAUDE_CONFIG_DIR/projects/<project>/`` (default ``~/.claude``), where
``<project>`` is the directory it runs in with every character but ASCII letters
and digits replaced by ``-``, and ``--resume ID`` looks only in the directory of
the current one (anthropics/claude-code#5768, #58591). Every runwright attempt
runs in a worktree of its own, so the attempt that continues a session (a retry,
``session: resume``, the replacement of a crashed attempt) would not find it.

Before such an attempt starts, the transcript (and its ``<id>/`` directory of
sub-agent logs and tool results, if any) is copied into the new worktree's
project directory with the old worktree's path replaced by the new one, so the
resumed agent also edits files where it now runs. A transcript that is nowhere
on this machine (the session ran on another worker, or the files were removed)
cannot be continued from the disk; so when an agent run ends, its transcript (secrets
masked) is kept in the store as a blob, and an attempt on another machine installs it
from there. Only when neither has it does the attempt start a new session, and say so.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path

from runwright.workspace import replace_atomically

#: Claude Code hashes longer project names; such a name cannot be computed here.
MAX_PROJECT_NAME = 200

_UNSAFE = re.compile(r"[^A-Za-z0-9]")


def config_dir(env: Mapping[str, str]) -> Path:
    """Where the agent's Claude Code keeps its state, from the environment it runs with."""
    configured = env.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    home = env.get("HOME", "").strip()
    return (Path(home) if home else Path.home()) / ".claude"


def project_name(cwd: Path) -> str:
    """The name of the directory Claude Code keeps the sessions of ``cwd`` under."""
    return _UNSAFE.sub("-", os.path.realpath(cwd))


def find_transcript(projects: Path, session: str) -> Path | None:
    """The newest ``<session>.jsonl`` of any project under ``projects``, if there is one."""
    if not _is_id(session) or not projects.is_dir():
        return None
    found = [p for p in projects.glob(f"*/{session}.jsonl") if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime_ns, default=None)


def carry(session: str, cwd: Path, env: Mapping[str, str]) -> bool:
    """Make ``session`` resumable from ``cwd``; False when it cannot be (not on this machine).

    Idempotent: a transcript already in ``cwd``'s project directory and newest is left.
    """
    projects = config_dir(env) / "projects"
    source = find_transcript(projects, session)
    name = project_name(cwd)
    if source is None or len(name) > MAX_PROJECT_NAME:
        return False
    target_dir = projects / name
    if source.parent == target_dir:
        return True
    old = _recorded_cwd(source)
    new = os.path.realpath(cwd)
    target_dir.mkdir(parents=True, exist_ok=True)
    # The sub-agent directory first: a transcript in place means the session is complete.
    side = source.with_suffix("")
    if side.is_dir():
        _copy_tree(side, target_dir / session, old, new)
    replace_atomically(target_dir / source.name, _rewrite(source.read_bytes(), old, new))
    return True


def _is_id(session: str) -> bool:
    # A session id names a file: nothing that could climb out of the projects directory.
    return bool(session) and "/" not in session and session not in (".", "..")


def _recorded_cwd(transcript: Path) -> str | None:
    """The directory the session last ran in, from its records (names are ambiguous)."""
    return _recorded_cwd_of(transcript.read_bytes())


def _rewrite(data: bytes, old: str | None, new: str) -> bytes:
    """``data`` with the path ``old`` (as JSON writes it) replaced by ``new``."""
    if not old or old == new:
        return data
    before = json.dumps(old)[1:-1].encode()
    after = json.dumps(new)[1:-1].encode()
    # Only whole path components: ".../fix-1" must not turn ".../fix-10" into garbage.
    pattern = re.compile(re.escape(before) + rb"(?![A-Za-z0-9_.\-])")
    return pattern.sub(after.replace(b"\\", b"\\\\"), data)


def _copy_tree(source: Path, target: Path, old: str | None, new: str) -> None:
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        elif path.suffix == ".jsonl":
            dest.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(dest, _rewrite(path.read_bytes(), old, new))
        elif path.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)


def export(
    session: str, cwd: Path, env: Mapping[str, str], *, mask: Callable[[str], str]
) -> bytes | None:
    """The session's transcript and sub-agent files as one archive, text passed through
    ``mask``; None when this machine has no transcript of it."""
    projects = config_dir(env) / "projects"
    own = projects / project_name(cwd) / f"{session}.jsonl"
    source = own if _is_id(session) and own.is_file() else find_transcript(projects, session)
    if source is None:
        return None
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        side = source.with_suffix("")
        paths = [source, *(sorted(side.rglob("*")) if side.is_dir() else [])]
        for path in paths:
            if not path.is_file():
                continue
            text = mask(path.read_text(encoding="utf-8", errors="replace")).encode()
            info = tarfile.TarInfo(str(path.relative_to(source.parent)))
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text))
    return out.getvalue()


def install(session: str, data: bytes, cwd: Path, env: Mapping[str, str]) -> bool:
    """Put an :func:`export` archive where Claude Code looks for ``session`` from ``cwd``."""
    name = project_name(cwd)
    if not _is_id(session) or len(name) > MAX_PROJECT_NAME:
        return False
    target_dir = config_dir(env) / "projects" / name
    new = os.path.realpath(cwd)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            members = {m.name: archive.extractfile(m) for m in archive.getmembers() if m.isfile()}
            files = {k: f.read() for k, f in members.items() if f is not None}
    except (tarfile.TarError, OSError, EOFError):
        return False
    main = f"{session}.jsonl"
    if main not in files:
        return False
    old = _recorded_cwd_of(files[main])
    for rel, content in sorted(files.items(), key=lambda kv: kv[0] == main):
        # Only the session's own files, never a path that climbs out (`..`, absolute).
        dest = (target_dir / rel).resolve()
        if rel != main and not rel.startswith(f"{session}/"):
            continue
        if not dest.is_relative_to(target_dir.resolve()):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        body = _rewrite(content, old, new) if rel.endswith(".jsonl") else content
        replace_atomically(dest, body)  # the transcript last: in place means complete
    return True


def _recorded_cwd_of(data: bytes) -> str | None:
    found = None
    for line in data.decode("utf-8", errors="replace").splitlines():
        if '"cwd"' in line:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("cwd"), str):
                found = record["cwd"]
    return found
