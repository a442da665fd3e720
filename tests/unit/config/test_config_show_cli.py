"""`runwright config show` through the real CLI: sources, masking, located errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clitools import clean_env

CANARY = "sk-canary-5f1e2d3c4b5a69788796a5b4c3d2e1f0"
TOML = """\
[providers.openai]
timeout = 15
headers = { Authorization = "Bearer header-secret-value" }

[models.fast]
candidates = ["openai:gpt-4.1-mini"]
"""


def config_show(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwright", *args, "config", "show"],
        cwd=cwd,
        env={**clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_config_show_json_gives_values_sources_and_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "runwright.toml").write_text(TOML)
    sub = tmp_path / "sub"
    sub.mkdir()
    done = config_show(sub, env={"OPENAI_API_KEY": CANARY})
    assert done.returncode == 0, done.stderr
    assert CANARY not in done.stdout + done.stderr
    assert "header-secret-value" not in done.stdout
    human = done.stdout
    assert f"# config: {tmp_path / 'runwright.toml'} (found in {tmp_path})" in human
    assert "providers.openai.timeout" in human and "# runwright.toml:2" in human

    done = subprocess.run(
        [sys.executable, "-m", "runwright", "config", "show", "--json"],
        cwd=sub,
        env={**clean_env(), "OPENAI_API_KEY": CANARY},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert view["path"] == str(tmp_path / "runwright.toml")
    values = {v["key"]: v for v in view["values"]}
    assert values["providers.openai.timeout"] == {
        "key": "providers.openai.timeout",
        "value": 15.0,
        "source": "runwright.toml:2",
    }
    assert values["providers.openai.base_url"]["source"] == "default"
    assert values["providers.openai.headers.Authorization"]["value"] == "***"
    assert values["providers.openai.api_key"] == {
        "key": "providers.openai.api_key",
        "value": "***",
        "source": "env OPENAI_API_KEY",
    }
    assert values["models.fast.candidates"]["value"] == ["openai:gpt-4.1-mini"]
    assert CANARY not in done.stdout


def test_config_option_and_env_choose_the_file_and_errors_are_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[budgets]\ndaily_usd = -1\n")
    done = config_show(tmp_path, "--config", str(bad), env={})
    assert done.returncode == 2
    assert f"{bad}:2:1: budgets.daily_usd: Input should be greater than 0" in done.stderr
    done = config_show(tmp_path, env={"RUNWRIGHT_CONFIG": str(bad)})
    assert done.returncode == 2
    assert f"{bad}:2:1: budgets.daily_usd" in done.stderr
    done = config_show(tmp_path, "--config", str(tmp_path / "nope.toml"), env={})
    assert done.returncode == 2
    assert "does not exist" in done.stderr
