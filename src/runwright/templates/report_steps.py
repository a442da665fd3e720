"""Python steps of the repo-report pipeline (`runwright init` writes this file)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def inspect_file(repo: str, entry: str) -> dict[str, object]:
    """Describe one `git ls-files -s` entry: its path, size, line count and language."""
    meta, path = entry.split("\t", 1)
    blob = meta.split()[1]
    file = Path(repo) / path
    data = file.read_bytes() if file.is_file() else b""
    binary = b"\0" in data[:8192]
    return {
        "path": path,
        "blob": blob,
        "bytes": len(data),
        "lines": 0 if binary else data.count(b"\n"),
        "binary": binary,
        "suffix": file.suffix or "(none)",
    }


def write_report(facts: dict, contributors: str, files: list[dict], ctx) -> dict[str, object]:
    """Summarise everything into REPORT.md (an atomic, recorded workspace write)."""
    by_suffix = Counter()
    lines_by_suffix = Counter()
    for f in files:
        by_suffix[f["suffix"]] += 1
        lines_by_suffix[f["suffix"]] += f["lines"]
    largest = sorted(files, key=lambda f: f["lines"], reverse=True)[:10]
    out = [
        f"# Repository report: {Path(facts['root']).name}",
        "",
        f"- branch `{facts['branch']}` at `{facts['head']}`, {facts['commits']} commits",
        f"- {len(files)} files inspected, {sum(f['lines'] for f in files)} lines",
        "",
        "## Files by type",
        "",
        "| suffix | files | lines |",
        "|---|---:|---:|",
        *(f"| {s} | {n} | {lines_by_suffix[s]} |" for s, n in by_suffix.most_common()),
        "",
        "## Largest files",
        "",
        *(f"- `{f['path']}`: {f['lines']} lines" for f in largest),
        "",
        "## Top contributors",
        "",
        "```",
        contributors.strip() or "(no commits yet)",
        "```",
        "",
    ]
    written = ctx.workspace.write("REPORT.md", "\n".join(out))
    return {
        "report": written.path,
        "result": written.result,
        "files": len(files),
        "lines": sum(f["lines"] for f in files),
    }
