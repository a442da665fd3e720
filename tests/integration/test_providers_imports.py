"""The CLI's start-up does not pay for the LLM code: no HTTP client until a provider is built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clitools import clean_env


def imported_modules(cwd: Path, *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runwright", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_help_and_config_show_do_not_import_httpx(tmp_path: Path) -> None:
    help_modules = imported_modules(tmp_path, "--help")
    assert "runwright.cli.commands" in help_modules  # the measurement sees our modules
    assert not {m for m in help_modules if m.split(".")[0] in ("httpx", "httpcore")}
    assert "runwright.providers.openai" not in help_modules
    show_modules = imported_modules(tmp_path, "config", "show")
    assert "runwright.config.loader" in show_modules
    assert "httpx" not in show_modules
