"""A run keeps the runwright.toml of its own pipeline, wherever it is resumed or served."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from clitools import cli
from llmserver import LLMServer


def _project(root: Path, url: str) -> Path:
    proj = root / "proj"
    proj.mkdir()
    (proj / "runwright.toml").write_text(
        f'[providers.loop]\ntype = "openai"\nbase_url = "{url}"\napi_key_env = "LOOP_KEY"\n'
        '[models.fast]\ncandidates = ["loop:m"]\n'
    )
    (proj / "p.yaml").write_text(
        textwrap.dedent(
            """
            name: configured
            steps:
              - {id: gate, uses: shell, with: {run: "test -f ok.txt"}}
              - {id: ask, uses: llm, needs: [gate], with: {model: fast, prompt: "hi"}}
            """
        )
    )
    return proj


def test_resume_from_another_directory_uses_the_pipelines_config(tmp_path: Path) -> None:
    with LLMServer() as server:
        proj = _project(tmp_path, server.openai_url)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        db = str(tmp_path / "r.db")
        env = {"LOOP_KEY": "k"}
        first = cli(elsewhere, "--db", db, "run", str(proj / "p.yaml"), "--json", env=env)
        assert first.returncode == 1, first.stderr
        run_id = json.loads(first.stdout)["run_id"]
        (elsewhere / "ok.txt").write_text("")  # shell steps run in the pipeline's directory
        (proj / "ok.txt").write_text("")
        resumed = cli(elsewhere, "--db", db, "resume", run_id, "--json", env=env)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert len(server.requests) == 1  # the alias 'fast' meant loop:m, from proj's config
        shown = json.loads(cli(elsewhere, "--db", db, "output", run_id, "ask", "--json").stdout)
        assert shown["provider"] == "loop" and shown["model"] == "m"
