"""An llm pipeline through the real CLI: config found beside the pipeline, a cached re-run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clitools import clean_env
from llmserver import LLMServer

CANARY = "sk-canary-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"


def runwright(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwright", *args],
        cwd=cwd,
        env={**clean_env(), "LOOP_KEY": CANARY},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_an_llm_pipeline_twice_the_second_from_the_cache(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "pipelines").mkdir(parents=True)
    with LLMServer() as server:
        (project / "runwright.toml").write_text(
            f"""
[providers.loop]
type = "openai"
base_url = "{server.openai_url}"
api_key_env = "LOOP_KEY"

[models.writer]
candidates = ["loop:tiny"]
"""
        )
        (project / "pipelines" / "hello.yaml").write_text(
            """
name: hello
inputs: {who: {type: string}}
steps:
  - id: greet
    uses: llm
    with: {model: writer, prompt: "Greet {{ inputs.who }}"}
  - id: show
    uses: shell
    needs: [greet]
    with: {run: "echo '{{ steps.greet.output.text }}'"}
"""
        )
        # From another directory: runwright.toml is found from the pipeline's directory up.
        first = runwright(
            tmp_path,
            "--db",
            str(tmp_path / "r.db"),
            "run",
            str(project / "pipelines" / "hello.yaml"),
            "-i",
            "who=Ada",
            "--json",
        )
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["status"] == "succeeded"
        second = runwright(
            tmp_path,
            "--db",
            str(tmp_path / "r.db"),
            "run",
            str(project / "pipelines" / "hello.yaml"),
            "-i",
            "who=Ada",
            "--json",
        )
        assert second.returncode == 0, second.stderr
        assert len(server.requests) == 1  # the second run's call came from the cache
        assert server.requests[0].body["messages"] == [{"role": "user", "content": "Greet Ada"}]
        run_id = json.loads(second.stdout)["run_id"]
        shown = runwright(tmp_path, "--db", str(tmp_path / "r.db"), "export", run_id)
        assert shown.returncode == 0, shown.stderr
        assert '"cache.hit"' in shown.stdout
        for done in (first, second, shown):
            assert CANARY not in done.stdout + done.stderr
    files = list(tmp_path.glob("r.db*"))  # the database and any WAL left beside it
    assert files
    assert not [f for f in files if CANARY.encode() in f.read_bytes()]
