"""`runwright costs` and the costs in `runwright show`, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from clitools import clean_env
from llmserver import LLMServer, Reply

CANARY = "sk-canary-77aa88bb99cc00dd11ee22ff33aa44bb"


def rw(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwright", "--db", str(cwd / "r.db"), *args],
        cwd=cwd,
        env={**clean_env(), "LOOP_KEY": CANARY},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_costs_by_step_model_provider_and_day_and_show(tmp_path: Path) -> None:
    with LLMServer() as server:
        (tmp_path / "runwright.toml").write_text(
            f'[providers.loop]\ntype = "openai"\nbase_url = "{server.openai_url}"\n'
            'api_key_env = "LOOP_KEY"\n'
            '[prices."loop:m"]\ninput_per_mtok = 1\noutput_per_mtok = 2\n'
        )
        (tmp_path / "p.yaml").write_text(
            textwrap.dedent(
                """
                name: ask
                steps:
                  - {id: a, uses: llm, with: {model: "loop:m", prompt: "one"}}
                  - {id: b, uses: llm, with: {model: "loop:m", prompt: "two"}}
                  - {id: c, uses: llm, with: {model: "loop:unpriced", prompt: "three"}}
                """
            )
        )
        server.script(*[Reply(usage={"input": 100, "output": 50}) for _ in range(3)])
        started = rw(tmp_path, "run", "p.yaml", "--json")
        assert started.returncode == 0, started.stderr
        assert all(r.headers.get("authorization") == f"Bearer {CANARY}" for r in server.requests)
    run_id = json.loads(started.stdout)["run_id"]
    each = (100 * 1 + 50 * 2) / 1e6  # $0.0002 per priced call

    by_step = json.loads(rw(tmp_path, "costs", "--run", run_id, "--json").stdout)
    groups = {g["key"]: g for g in by_step["groups"]}
    assert groups["a"]["cost_usd"] == groups["b"]["cost_usd"] == each
    assert groups["c"]["cost_usd"] is None and groups["c"]["unknown_price_calls"] == 1
    assert by_step["total"]["calls"] == 3 and by_step["total"]["cost_usd"] == 2 * each

    by_model = json.loads(rw(tmp_path, "costs", "--by", "model", "--json").stdout)
    assert {g["key"]: g["calls"] for g in by_model["groups"]} == {
        "loop:m": 2,
        "loop:unpriced": 1,
    }
    by_provider = json.loads(rw(tmp_path, "costs", "--by", "provider", "--json").stdout)
    assert [(g["key"], g["input_tokens"]) for g in by_provider["groups"]] == [("loop", 300)]
    by_day = json.loads(rw(tmp_path, "costs", "--by", "day", "--json").stdout)
    assert len(by_day["groups"]) == 1 and by_day["groups"][0]["key"].count("-") == 2

    text = rw(tmp_path, "costs", "--by", "model")
    assert text.returncode == 0
    assert "$0.0004 + unknown" in text.stdout and "unknown" in text.stdout
    assert "no known price" in text.stdout
    bad = rw(tmp_path, "costs", "--by", "colour")
    assert bad.returncode == 2 and "--by must be one of" in bad.stderr

    show = rw(tmp_path, "show", run_id)
    assert show.returncode == 0, show.stderr
    assert "cost: $0.0004 + unknown" in show.stdout
    lines = {ln.split()[0]: ln for ln in show.stdout.splitlines() if ln.split()}
    assert "$0.0002" in lines["a"] and "unknown" in lines["c"]
    shown = json.loads(rw(tmp_path, "show", run_id, "--json").stdout)
    steps = {s["step_id"]: s for s in shown["steps"]}
    assert steps["a"]["cost_usd"] == each and steps["c"]["cost_usd"] is None
    assert shown["cost_usd"] == 2 * each

    everything = [by_step, by_model, text.stdout, show.stdout, shown]
    assert CANARY not in json.dumps(everything)
    for f in tmp_path.glob("r.db*"):
        assert CANARY.encode() not in f.read_bytes()
    events = rw(tmp_path, "export", run_id)
    assert events.returncode == 0 and CANARY not in events.stdout + events.stderr
