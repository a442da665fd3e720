"""The real aider CLI, headless, against runwright's own llama.cpp server running SmolLM2.

What this pins down is the invocation the ``aider`` preset and the fix-failing-test example
rely on (see tests/aidertools.py): aider reaches the local server with the settings we
gave it, exits 0, commits nothing, and keeps its files in its own HOME and ``.aider*``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from aidertools import MAX_TOKENS, aider_setup, last_task, local_server, require_aider, slots
from llamacpptools import require_local_model


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    require_aider()
    url = local_server(require_local_model())
    yield url


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _buggy_repo(repo: Path) -> str:
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    _git(repo, "add", "calc.py")
    _git(repo, "commit", "-q", "-m", "add (with a bug)")
    return _git(repo, "rev-parse", "HEAD")


def test_aider_edits_through_the_local_server_and_commits_nothing(
    server: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    head = _buggy_repo(repo)
    setup = aider_setup(tmp_path / "aider", server)
    before = last_task(server)
    prompt = "Fix the bug in add in calc.py: it must return a + b."
    done = subprocess.run(
        [str(setup.executable), "--message", prompt, *setup.model_args(), *setup.args(), "calc.py"],
        cwd=repo,
        env=setup.env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The server ran a new task, with the reply cap from our model settings file.
    assert last_task(server) > before
    assert any(s["params"].get("n_predict") == MAX_TOKENS for s in slots(server))
    # aider reported the exchange and kept the transcript in the repository root.
    # ("Tokens: N sent", or "Input tokens: ~N" when the reply hit the cap).
    assert re.search(r"[Tt]okens: ~?[0-9]", done.stdout), done.stdout
    history = (repo / ".aider.chat.history.md").read_text()
    assert prompt in history
    # --no-auto-commits: whatever it edited, committing is left to runwright.
    assert _git(repo, "rev-parse", "HEAD") == head
    # Its own state went to the HOME we gave it (so a run never writes to the user's ~).
    assert (setup.home / ".aider").is_dir()
    # No fetch of litellm's price list: the model came from our metadata file.
    assert "raw.githubusercontent.com" not in done.stdout + done.stderr
