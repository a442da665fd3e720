"""Carrying a Claude Code session into the worktree of the attempt that continues it."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from runwright.agents.claude_code import ClaudeCode
from runwright.agents.claude_sessions import (
    carry,
    config_dir,
    export,
    find_transcript,
    install,
    project_name,
)
from runwright.agents.preset import AgentRequest


@pytest.mark.parametrize(
    ("path", "name"),
    [
        # Examples reported against Claude Code's own directory names.
        ("/Users/kp/WebProjects/claude-code-cmv", "-Users-kp-WebProjects-claude-code-cmv"),
        ("/home/chris/2_project-files/m2-clients", "-home-chris-2-project-files-m2-clients"),
        ("/home/u/.local", "-home-u--local"),
    ],
)
def test_project_names_match_claude_codes(path: str, name: str) -> None:
    assert project_name(Path(path)) == name


def test_the_project_name_is_of_the_real_directory(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert project_name(tmp_path / "link") == project_name(tmp_path / "real")


def test_the_config_dir_follows_the_agents_environment(tmp_path: Path) -> None:
    assert config_dir({"CLAUDE_CONFIG_DIR": str(tmp_path / "c"), "HOME": "/h"}) == tmp_path / "c"
    assert config_dir({"HOME": str(tmp_path)}) == tmp_path / ".claude"


def transcript(projects: Path, cwd: Path, session: str, *, messages: list[str]) -> Path:
    """A transcript the way Claude Code writes one while it runs in ``cwd``."""
    path = projects / project_name(cwd) / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [{"type": "summary", "summary": "no cwd here"}]
    for text in messages:
        lines.append({"type": "user", "cwd": str(cwd), "sessionId": session, "message": text})
        tool = {"name": "Edit", "input": {"file_path": f"{cwd}/src/app.py"}}
        lines.append({"type": "assistant", "cwd": str(cwd), "message": {"tool_use": tool}})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_session_is_carried_with_its_paths_moved(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    old, new = tmp_path / "wt" / "fix-1", tmp_path / "wt" / "fix-2"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    source = transcript(claude / "projects", old, "s-1", messages=["one", f"see {old}0/x"])
    side = source.with_suffix("") / "subagents"
    side.mkdir(parents=True)
    (side / "agent-a.jsonl").write_text(json.dumps({"cwd": str(old)}) + "\n")
    (side / "notes.txt").write_text(f"{old}\n")

    assert carry("s-1", new, {"CLAUDE_CONFIG_DIR": str(claude)})

    target = claude / "projects" / project_name(new) / "s-1.jsonl"
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert {r["cwd"] for r in records if "cwd" in r} == {str(new)}
    assert records[2]["message"]["tool_use"]["input"]["file_path"] == f"{new}/src/app.py"
    # A longer name that starts with the old path is another directory: left alone.
    assert records[3]["message"] == f"see {old}0/x"
    copied = target.with_suffix("") / "subagents"
    assert json.loads((copied / "agent-a.jsonl").read_text()) == {"cwd": str(new)}
    assert (copied / "notes.txt").read_text() == f"{old}\n"  # not a transcript: as it was
    assert source.read_text().count(str(old)) > 0  # the original is untouched


def test_the_newest_transcript_is_carried_and_a_carried_one_is_kept(tmp_path: Path) -> None:
    projects = tmp_path / "claude" / "projects"
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}
    older = transcript(projects, tmp_path / "a", "s", messages=["one"])
    newer = transcript(projects, tmp_path / "b", "s", messages=["one", "two"])
    os.utime(older, ns=(1, 1))
    assert find_transcript(projects, "s") == newer
    assert carry("s", tmp_path / "c", env)
    carried = projects / project_name(tmp_path / "c") / "s.jsonl"
    assert carried.read_text().count('"user"') == 2
    # Continued in place, the session is already where Claude Code looks.
    carried.write_text(carried.read_text() + json.dumps({"type": "user", "cwd": "x"}) + "\n")
    assert carry("s", tmp_path / "c", env)
    assert carried.read_text().count('"user"') == 3


def test_a_session_that_is_not_here_cannot_be_carried(tmp_path: Path) -> None:
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}
    assert not carry("missing", tmp_path / "wt", env)
    transcript(tmp_path / "claude" / "projects", tmp_path / "a", "s", messages=["one"])
    # An id never names a path outside the projects directory.
    assert not carry("../s", tmp_path / "wt", env)
    # Claude Code hashes a name longer than 200 characters: not computable, not guessed.
    assert not carry("s", tmp_path / ("d" * 210), env)


def request(cwd: Path, session: str | None) -> AgentRequest:
    return AgentRequest(prompt="p", cwd=cwd, session=session)


def test_the_claude_code_preset_resumes_a_carried_session_or_starts_a_new_one(
    tmp_path: Path,
) -> None:
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}
    transcript(tmp_path / "claude" / "projects", tmp_path / "a", "s", messages=["one"])
    preset = ClaudeCode()
    kept = preset.prepare(request(tmp_path / "b", "s"), env)
    assert kept.session == "s" and kept.new_session is None
    dropped = preset.prepare(request(tmp_path / "b", "elsewhere"), env)
    assert dropped.session is None and dropped.new_session
    argv = preset.invocation(dropped).argv
    assert "--resume" not in argv and argv[argv.index("--session-id") + 1] == dropped.new_session


def test_a_session_exported_here_is_installed_on_another_machine(tmp_path: Path) -> None:
    here = {"CLAUDE_CONFIG_DIR": str(tmp_path / "a")}
    there = {"CLAUDE_CONFIG_DIR": str(tmp_path / "b")}
    old, new = tmp_path / "wt-1", tmp_path / "wt-2"
    source = transcript(tmp_path / "a" / "projects", old, "s", messages=["one secret-x"])
    (source.with_suffix("") / "subagents").mkdir(parents=True)
    (source.with_suffix("") / "subagents" / "a.jsonl").write_text(json.dumps({"cwd": str(old)}))

    data = export("s", old, here, mask=lambda text: text.replace("secret-x", "***"))
    assert data is not None and export("missing", old, here, mask=str) is None
    assert install("s", data, new, there)
    target = tmp_path / "b" / "projects" / project_name(new) / "s.jsonl"
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert {r["cwd"] for r in records if "cwd" in r} == {str(new)}
    assert records[1]["message"] == "one ***"  # masked before it left this machine
    side = json.loads((target.with_suffix("") / "subagents" / "a.jsonl").read_text())
    assert side == {"cwd": str(new)}
    assert not install("s", b"not an archive", new, there)
    assert not install("other", data, new, there)  # the archive holds no such session


def test_an_archive_cannot_write_outside_the_sessions_directory(tmp_path: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, text in (("s.jsonl", b"{}\n"), ("../../evil.txt", b"x"), ("s/../../e2", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text))
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "c")}
    assert install("s", out.getvalue(), tmp_path / "wt", env)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert written == [Path("c/projects") / project_name(tmp_path / "wt") / "s.jsonl"]
