"""`runwright init`: the scaffolded example, run as init's "next:" line says (issue 7)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from clitools import clean_env, cli

GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=Tester"]


def git_repo(path: Path) -> Path:
    (path / "src").mkdir(parents=True)
    (path / "README.md").write_text("# demo\n")
    (path / "src" / "main.py").write_text("print('hi')\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "first"]):
        subprocess.run([*GIT, *args], cwd=path, check=True, capture_output=True, env=clean_env())
    return path


def next_command(init: subprocess.CompletedProcess[str]) -> list[str]:
    assert init.returncode == 0, init.stderr
    match = re.search(r"^next: (.+)$", init.stdout, re.M)
    assert match, init.stdout
    argv = shlex.split(match.group(1))
    assert argv[:2] == ["runwright", "run"]
    return argv[2:]


def test_inside_a_git_repository_the_next_command_reports_on_it(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "project")
    args = next_command(cli(repo, "init", "demo"))
    assert args == ["demo/pipeline.yaml"]  # nothing to fill in
    result = cli(repo, "run", *args)
    assert result.returncode == 0, (result.stdout, result.stderr)
    report = (repo / "demo" / "REPORT.md").read_text()
    # The whole repository, not only the demo/ directory the pipeline is in.
    assert "# Repository report: project" in report
    for name in ("README.md", "src/main.py"):
        assert f"`{name}`" in report, report
    assert "Tester" in report


def test_outside_a_git_repository_the_demo_fails_naming_the_input(tmp_path: Path) -> None:
    init = cli(tmp_path, "init", "demo")
    args = next_command(init)
    assert args == ["demo/pipeline.yaml", "--input", "repo=/path/to/a/git/repo"]
    assert "demo is not inside a git repository" in init.stdout
    # What a user tries first: the command without the input.
    result = cli(tmp_path, "run", "demo/pipeline.yaml")
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert f"input repo '.' ({tmp_path / 'demo'}) is not inside a git repository" in output
    assert "--input repo=/path/to/a/git/repo" in output
    assert not (tmp_path / "demo" / "REPORT.md").exists()
    # The placeholder itself: not a directory, said as much.
    result = cli(tmp_path, "run", *args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "input repo '/path/to/a/git/repo' is not a directory" in result.stdout + result.stderr
    # Given a real repository, it works from anywhere.
    repo = git_repo(tmp_path / "elsewhere")
    result = cli(tmp_path, "run", "demo/pipeline.yaml", "--input", f"repo={repo}")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "# Repository report: elsewhere" in (tmp_path / "demo" / "REPORT.md").read_text()
