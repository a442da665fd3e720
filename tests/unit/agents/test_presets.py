"""Agent presets: the argv each builds and how each reads its CLI's result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runwright.agents.aider import Aider
from runwright.agents.claude_code import ClaudeCode
from runwright.agents.codex import Codex
from runwright.agents.preset import AgentRequest, Preset
from runwright.agents.presets import preset_names, resolve_preset
from runwright.config import ProjectConfig, parse_config
from runwright.errors import ConfigError, RegistryError

REQ = AgentRequest(prompt="fix it", cwd=Path("/w"))


def config(text: str) -> ProjectConfig:
    return parse_config(text, path=Path("runwright.toml")).config


def test_claude_code_argv_carries_the_limits_and_the_session() -> None:
    argv = (
        ClaudeCode()
        .invocation(
            AgentRequest(
                prompt="fix it",
                cwd=Path("/w"),
                session="s-1",
                allowed_tools=("Edit", "Bash(git:*)"),
                max_turns=5,
                model="sonnet",
                max_budget_usd=0.25,
            )
        )
        .argv
    )
    assert argv[:5] == ("claude", "-p", "fix it", "--output-format", "json")
    assert argv[argv.index("--resume") + 1] == "s-1" and "--session-id" not in argv
    assert argv[argv.index("--allowedTools") + 1] == "Edit,Bash(git:*)"
    assert argv[argv.index("--max-turns") + 1] == "5"
    assert argv[argv.index("--model") + 1] == "sonnet"
    assert argv[argv.index("--max-budget-usd") + 1] == "0.250000"


def test_claude_code_names_a_new_session_and_reads_its_json_result() -> None:
    argv = ClaudeCode().invocation(AgentRequest(prompt="p", cwd=Path("/w"), new_session="u-1")).argv
    assert argv[argv.index("--session-id") + 1] == "u-1" and "--resume" not in argv
    out = json.dumps(
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "result": "done",
            "session_id": "u-1",
            "total_cost_usd": 0.123,
            "num_turns": 3,
        }
    )
    r = ClaudeCode().parse(out, "", 0)
    assert (r.text, r.session_id, r.cost_usd, r.is_error) == ("done", "u-1", 0.123, False)
    failed = ClaudeCode().parse(
        json.dumps({"subtype": "error_max_turns", "is_error": True, "session_id": "u"}), "", 1
    )
    assert failed.is_error and failed.text == "error_max_turns" and failed.cost_usd is None
    garbage = ClaudeCode().parse("not json", "boom", 1)
    assert garbage.is_error and garbage.text == "not json"


def test_codex_folds_its_jsonl_events() -> None:
    events = [
        {"type": "thread.started", "thread_id": "th_1"},
        {"type": "turn.started"},
        {"type": "item.completed", "item": {"id": "i0", "type": "reasoning", "text": "hmm"}},
        {"type": "item.completed", "item": {"id": "i1", "type": "agent_message", "text": "ok"}},
        {"type": "turn.completed", "usage": {"input_tokens": 10, "output_tokens": 2}},
    ]
    r = Codex().parse("\n".join(json.dumps(e) for e in events) + "\nnoise\n", "", 0)
    assert (r.text, r.session_id, r.cost_usd, r.is_error) == ("ok", "th_1", None, False)
    bad = Codex().parse(json.dumps({"type": "turn.failed", "error": {"message": "x"}}), "", 1)
    assert bad.is_error and bad.text == "x"
    argv = Codex().invocation(AgentRequest(prompt="p", cwd=Path("/w"), session="th_1")).argv
    assert argv[:4] == ("codex", "exec", "resume", "th_1") and argv[-1] == "p"
    assert "--json" in argv


def test_aider_takes_its_model_settings_and_reads_its_cost_line() -> None:
    aider = Aider(model="openai/smollm2", base_url="http://127.0.0.1:8080/v1")
    argv = aider.invocation(
        AgentRequest(prompt="p", cwd=Path("/w"), instructions_file=Path("/adm/i.md"))
    ).argv
    assert argv[:3] == ("aider", "--message", "p")
    assert {"--yes-always", "--no-auto-commits"} <= set(argv)
    assert argv[argv.index("--openai-api-base") + 1] == "http://127.0.0.1:8080/v1"
    assert argv[argv.index("--read") + 1] == "/adm/i.md"
    out = "Applied edit\nTokens: 1k sent, 20 received. Cost: $0.0010 message, $0.0030 session.\n"
    assert aider.parse(out, "", 0).cost_usd == pytest.approx(0.003)
    assert aider.parse("Applied edit\n", "", 0).cost_usd is None


def test_a_command_preset_from_the_config_fills_its_template() -> None:
    cfg = config(
        '[agents.mine]\ncommand = ["my-agent", "--dir", "{cwd}"]\n'
        'resume_args = ["--session", "{session}"]\nmodel_args = ["-m", "{model}"]\n'
    )
    preset = resolve_preset("mine", cfg)
    inv = preset.invocation(AgentRequest(prompt="p", cwd=Path("/w"), session="s"))
    assert inv.argv == ("my-agent", "--dir", "/w", "--session", "s")  # no model: no -m
    assert inv.stdin == "p" and preset.supports_resume and not preset.takes_budget
    r = preset.parse('thinking\n<result>{"result": "r", "total_cost_usd": 2}</result>', "", 0)
    assert (r.text, r.cost_usd) == ("r", 2.0)
    assert preset.parse("plain words", "", 0).text == "plain words"


def test_a_config_table_adjusts_a_builtin_preset() -> None:
    cfg = config(
        '[agents.cheap]\npreset = "claude-code"\nexecutable = "/opt/claude"\n'
        'model = "haiku"\nmax_budget_usd = 0.5\nargs = ["--verbose"]\n'
    )
    preset = resolve_preset("cheap", cfg)
    assert isinstance(preset, Preset) and preset.name == "cheap"
    argv = preset.invocation(REQ).argv
    assert argv[0] == "/opt/claude" and argv[-1] == "--verbose"
    assert argv[argv.index("--model") + 1] == "haiku" and preset.max_budget_usd == 0.5
    assert "cheap" in preset_names(cfg) and "codex" in preset_names(cfg)


def test_unknown_presets_and_bad_tables_are_named() -> None:
    with pytest.raises(RegistryError, match="did you mean 'claude-code'"):
        resolve_preset("claude-cod")
    with pytest.raises(ConfigError, match="exactly one of"):
        config('[agents.x]\nexecutable = "a"\n')
    with pytest.raises(ConfigError, match="unknown placeholder"):
        config('[agents.x]\ncommand = ["a", "{promt}"]\n')
    with pytest.raises(RegistryError, match="has no base_url"):
        resolve_preset("x", config('[agents.x]\npreset = "codex"\nbase_url = "http://h"\n'))
