"""The real ``aider`` CLI against a local OpenAI-compatible server (the aider preset).

Needs aider (``pip install aider-chat``, in a venv of its own: its pins clash with
ours); ``RUNWRIGHT_TEST_AIDER`` names the executable, else ``aider`` on PATH.
Skipped without it on a developer's machine, a failure under CI (scripts/test
installs it).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_agent_step import configure, pipeline, start

from agenttools import make_repo, user_state
from llmserver import LLMServer, Reply
from runwright.states import RunStatus


def require_aider() -> str:
    found = os.environ.get("RUNWRIGHT_TEST_AIDER") or shutil.which("aider")
    if not found or not Path(found).exists():
        why = "needs the aider CLI (pip install aider-chat; RUNWRIGHT_TEST_AIDER=path)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must run the aider test: {why}")
        pytest.skip(why)
    return found


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


async def test_aider_edits_the_worktree_through_a_local_openai_compatible_server(
    tmp_path: Path, server: LLMServer
) -> None:
    aider = require_aider()
    repo = make_repo(tmp_path / "repo")
    # aider's "whole" edit format: the file name, then its whole new content.
    server.script(Reply(text="hello.py\n```python\nprint('hello')\n```\n"))
    extra = (
        f'\n[agents.aider-local]\npreset = "aider"\nexecutable = "{aider}"\n'
        f'model = "openai/test-model"\nbase_url = "{server.openai_url}"\n'
    )
    pipe = pipeline(
        tmp_path,
        "  - id: hello\n    uses: agent\n    timeout: 120\n    with:\n"
        "      agent: aider-local\n      prompt: Create hello.py that prints hello.\n"
        "      instructions: Keep it to one line.\n"
        "      env: {OPENAI_API_KEY: not-a-real-key}\n",
    )
    before = user_state(repo)
    result, outputs, _ = await start(configure(tmp_path, extra), pipe)
    assert result.status is RunStatus.SUCCEEDED, result
    out = outputs["hello"]
    # aider's caches and histories are scratch: only its edit is in the patch.
    assert out["files"] == ["hello.py"] and out["patch"]
    assert out["cost_usd"] is None and out["agent"] == "aider-local"
    assert user_state(repo) == before
    [request] = [r for r in server.requests if r.protocol == "openai"]
    sent = json.dumps(request.body)
    assert request.body["model"] == "test-model"
    assert "Create hello.py that prints hello." in sent and "Keep it to one line." in sent
