"""examples/app-builder through the real CLI: on the real local model, and killed mid-run.

The first test runs the shipped example end to end on SmolLM2 (llama.cpp through
xllamacpp; skipped without them, failing under CI=true), then again: served from
the cache with zero model calls. The second SIGKILLs a run on a loopback
OpenAI-compatible server while ``builder`` and ``docs`` are in flight, resumes it
and counts the requests: finished calls are not made (nor paid) again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from clitools import clean_env, cli, wait_until
from llamacpptools import require_local_model
from llmserver import LLMServer, Request

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "app-builder" / "pipeline.yaml"
STEPS = ("architect", "builder", "docs", "qa")


def show(tmp_path: Path, db: str, run_id: str) -> dict[str, Any]:
    shown = cli(tmp_path, "--db", db, "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    data: dict[str, Any] = json.loads(shown.stdout)
    return data


def events(tmp_path: Path, db: str, run_id: str) -> list[dict[str, Any]]:
    tail = cli(tmp_path, "--db", db, "tail", run_id, "--json")
    assert tail.returncode == 0, tail.stderr
    return [json.loads(line) for line in tail.stdout.splitlines() if line.strip()]


def _runs(stdout: str) -> list[dict[str, Any]]:
    data = json.loads(stdout)
    runs: list[dict[str, Any]] = data["runs"] if isinstance(data, dict) else data
    return runs


def test_the_example_runs_on_the_local_model_then_entirely_from_the_cache(
    tmp_path: Path,
) -> None:
    require_local_model()
    db, work = str(tmp_path / "r.db"), tmp_path / "work"
    args = ("--db", db, "run", str(EXAMPLE), "--workspace", str(work), "--json")
    first = cli(tmp_path, *args, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    run_id = json.loads(first.stdout.splitlines()[-1])["run_id"]
    shown = show(tmp_path, db, run_id)
    assert shown["status"] == "succeeded"
    assert [s["step_id"] for s in shown["steps"]] == list(STEPS)
    plan = json.loads((work / "app" / "PLAN.json").read_text())
    assert plan["files"] and all(f["path"].startswith("app/") for f in plan["files"])
    code = [p for p in (work / "app").glob("*.py")]
    assert code and all(p.read_text() for p in code)  # builder's files, through files:
    assert (work / "app" / "README.md").read_text().strip()  # docs, in parallel
    assert json.loads((work / "app" / "REVIEW.json").read_text())["verdict"] in ("pass", "fail")
    made = [e for e in events(tmp_path, db, run_id) if e["type"] == "llm.response"]
    assert {e["step_id"] for e in made} == set(STEPS)
    written = [e for e in events(tmp_path, db, run_id) if e["type"] == "file.written"]
    assert len(written) >= 4

    second = cli(tmp_path, *args, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    again = json.loads(second.stdout.splitlines()[-1])["run_id"]
    assert all(s["cached"] for s in show(tmp_path, db, again)["steps"])
    kinds = Counter(e["type"] for e in events(tmp_path, db, again))
    assert kinds["cache.hit"] == 4 and kinds["llm.request"] == 0  # zero model calls


PLAN = {
    "summary": "Count words.",
    "files": [{"path": "app/main.py", "purpose": "the CLI"}],
    "steps": ["write main.py"],
}
CODE = {"files": [{"path": "app/main.py", "content": "print(len(open(0).read().split()))\n"}]}
VERDICT = {"verdict": "pass", "issues": []}


class Scripted:
    """Answers each step of the example by its system prompt; holds builder's first call."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held = threading.Event()
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> str:
        system = request.body["messages"][0]["content"]
        step = next(s for s in ("architect", "developer", "writer", "reviewer") if s in system)
        with self.lock:
            self.calls[step] += 1
            first_build = step == "developer" and self.calls[step] == 1
        if first_build:
            self.held.set()
            self.release.wait(60)  # a slow model: the runner is killed while it waits
        return {
            "architect": json.dumps(PLAN),
            "developer": json.dumps(CODE),
            "writer": "# Word counter\n\nRun `python app/main.py < file`.\n",
            "reviewer": json.dumps(VERDICT),
        }[step]


def test_a_killed_run_resumes_without_calling_the_model_again_for_finished_steps(
    tmp_path: Path,
) -> None:
    scripted = Scripted()
    with LLMServer(responder=scripted) as server:
        (tmp_path / "runwright.toml").write_text(
            f'[providers.loop]\ntype = "openai"\nbase_url = "{server.openai_url}"\n'
        )
        db, work = str(tmp_path / "r.db"), tmp_path / "work"
        base = ("--db", db, "--config", str(tmp_path / "runwright.toml"))
        options = ("--workspace", str(work), "--input", "model=loop:m")
        runner = subprocess.Popen(
            [sys.executable, "-m", "runwright", *base, "run", str(EXAMPLE), *options],
            cwd=tmp_path,
            env=clean_env(),
            stdout=subprocess.DEVNULL,  # the run prints its id only as it ends
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            assert scripted.held.wait(120), "builder's call never arrived"
            # docs runs beside builder; let its call land too, then kill mid-builder.
            wait_until(lambda: scripted.calls["writer"] >= 1, 60)
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait(timeout=30)
        finally:
            if runner.poll() is None:
                os.killpg(runner.pid, signal.SIGKILL)
                runner.wait()
        listed = cli(tmp_path, *base, "runs", "--json")
        assert listed.returncode == 0, listed.stderr
        [run_id] = [r["run_id"] for r in _runs(listed.stdout)]
        scripted.release.set()
        before = Counter(scripted.calls)
        assert before == {"architect": 1, "developer": 1, "writer": 1}
        assert show(tmp_path, db, run_id)["status"] != "succeeded"

        resumed = cli(tmp_path, *base, "resume", run_id, timeout=120)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        after = scripted.calls - before
        # architect had committed: not called again. builder was in flight: called again
        # (at least once for work that had not committed). qa runs once, on resume.
        assert after["architect"] == 0 and after["developer"] == 1 and after["reviewer"] == 1
        assert after["writer"] <= 1  # docs may have committed before the kill, or not
        assert len(server.requests) == sum(scripted.calls.values())
    shown = show(tmp_path, db, run_id)
    assert shown["status"] == "succeeded"
    assert (work / "app" / "main.py").read_text() == CODE["files"][0]["content"]
    assert json.loads((work / "app" / "REVIEW.json").read_text()) == VERDICT
