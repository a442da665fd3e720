"""The real aider CLI for tests, pointed at the local llama.cpp server (SmolLM2).

Where aider comes from: ``scripts/aider`` installs aider-chat into its own venv
(``.venv-aider``: it pins ~300 exact versions, so never into the project venv) and prints
the executable's path; ``scripts/test`` exports it as ``RUNWRIGHT_TEST_AIDER``. Without
it the aider tests skip on a developer's machine and FAIL under ``CI=true``.

How aider runs headless against a local OpenAI-compatible server (measured with aider
0.86.2 and SmolLM2-135M-Instruct Q4_1 on xllamacpp, one thread, on a shared 2-core
machine):

- ``aider --message PROMPT --yes-always FILE...`` does one exchange and exits 0.
  ``--model openai/<any name>`` + ``--openai-api-base http://127.0.0.1:PORT/v1`` +
  ``OPENAI_API_KEY=dummy`` (env, or ``--openai-api-key``; it must be set, any value) reach
  the llama.cpp server, whose ``/slots`` then shows the task and the parameters aider sent.
- The model must be bounded: SmolLM2 never stops by itself (one reply ran to 4,000+ tokens
  at ~14 tokens/s, five minutes). A ``--model-settings-file`` entry with
  ``extra_params: {max_tokens: 256}`` caps it; with it a one-file edit takes 11-20 s.
- ``--model-metadata-file`` describing the model keeps aider from fetching litellm's price
  list from the internet (it tries on every start otherwise, and waits for the failure).
- ``--edit-format whole`` is the format a tiny model comes closest to (filename line, fenced
  file); ``--map-tokens 0`` drops the repository map from the prompt (~770 tokens left).
- Quiet and non-interactive: ``--no-pretty --no-stream --no-fancy-input
  --no-check-update --no-show-model-warnings --no-show-release-notes`` (with --yes-always
  the first-run release-notes offer would otherwise "open" a browser) ``--no-detect-urls``
  (no fetching URLs seen in the prompt) ``--no-suggest-shell-commands``
  ``--analytics-disable``.
- Git: ``--no-auto-commits --no-dirty-commits`` leave committing to runwright (HEAD stays
  put); aider still ``git add``s files it creates. ``--no-gitignore`` stops it adding
  ``.aider*`` to the repository's .gitignore. It works in a git worktree; ``--no-git``
  is not needed.
- It writes to ``$HOME/.aider/`` (analytics.json, installs.json, caches) even with analytics
  disabled, and ``.aider.chat.history.md`` / ``.aider.input.history`` in the repository
  root: give it its own HOME, and treat ``.aider*`` as scratch (the ``aider`` preset does).
- What SmolLM2 manages: it answers, usually without a well-formed edit (``whole`` then
  changes nothing), and sometimes writes a file it made up (``path/to/filename.js``),
  which aider creates and ``git add``s: the mechanics are real, the fix is luck.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INSTALL = "scripts/aider, then export RUNWRIGHT_TEST_AIDER=<the path it prints>"
#: aider's name for the local model (``openai/`` = any OpenAI-compatible server).
MODEL = "openai/smollm2"
#: The cap on every reply (SmolLM2 would go on for thousands of tokens).
MAX_TOKENS = 256
#: Context for the server: aider's prompt is ~800 tokens, plus the reply.
CONTEXT_TOKENS = 4096

#: Flags that make aider quiet, non-interactive, offline but for the model, and leave
#: committing to runwright. The model, server and settings files come on top.
HEADLESS = (
    "--yes-always",
    "--no-auto-commits",
    "--no-dirty-commits",
    "--no-gitignore",
    "--no-check-update",
    "--no-show-model-warnings",
    "--no-show-release-notes",
    "--analytics-disable",
    "--no-pretty",
    "--no-stream",
    "--no-fancy-input",
    "--no-detect-urls",
    "--no-suggest-shell-commands",
    "--map-tokens",
    "0",
    "--edit-format",
    "whole",
)


def require_aider() -> Path:
    """The aider executable (``RUNWRIGHT_TEST_AIDER``); skip, or fail under CI, without it."""
    value = os.environ.get("RUNWRIGHT_TEST_AIDER", "")
    if value and os.access(value, os.X_OK):
        return Path(value)
    why = f"needs the aider CLI in RUNWRIGHT_TEST_AIDER ({INSTALL})"
    if value:
        why = f"RUNWRIGHT_TEST_AIDER={value} is not an executable ({INSTALL})"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI must run the aider tests: {why}")
    pytest.skip(why)


@dataclass(frozen=True)
class AiderSetup:
    """Everything one aider run needs besides the prompt: files, HOME, the server."""

    executable: Path
    base_url: str
    home: Path
    settings: Path
    metadata: Path

    def args(self) -> list[str]:
        """The flags after ``--message PROMPT`` (no model/server: see :meth:`model_args`)."""
        return [
            *HEADLESS,
            "--model-settings-file",
            str(self.settings),
            "--model-metadata-file",
            str(self.metadata),
        ]

    def model_args(self) -> list[str]:
        """``--model`` and ``--openai-api-base`` (the preset adds these from its config)."""
        return ["--model", MODEL, "--openai-api-base", self.base_url]

    def env(self) -> dict[str, str]:
        """A minimal environment: PATH, its own HOME, a dummy key (the server checks none)."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "OPENAI_API_KEY": "dummy",
            "LANG": "C.UTF-8",
        }


def aider_setup(directory: Path, base_url: str) -> AiderSetup:
    """Write aider's model settings and metadata under ``directory``; give it a HOME there."""
    executable = require_aider()
    directory.mkdir(parents=True, exist_ok=True)
    home = directory / "home"
    home.mkdir(exist_ok=True)
    settings = directory / "aider-models.yml"
    settings.write_text(
        f"- name: {MODEL}\n"
        "  edit_format: whole\n"
        "  use_repo_map: false\n"
        "  extra_params:\n"
        f"    max_tokens: {MAX_TOKENS}\n"
    )
    metadata = directory / "aider-metadata.json"
    info = {
        "max_input_tokens": CONTEXT_TOKENS,
        "max_output_tokens": MAX_TOKENS,
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
        "litellm_provider": "openai",
        "mode": "chat",
    }
    metadata.write_text(json.dumps({MODEL: info}))
    return AiderSetup(executable, base_url, home, settings, metadata)


def local_server(model: Path) -> str:
    """The ``…/v1`` URL of runwright's own llama.cpp child serving ``model`` (started once)."""
    from runwright.providers.llamacpp import server_url

    return server_url(
        model,
        provider="local",
        threads=1,
        context_tokens=CONTEXT_TOKENS,
        parallel=1,
        timeout=120,
    )


def slots(base_url: str) -> list[dict[str, Any]]:
    """llama.cpp's ``/slots``: per slot, the last task id and the parameters it was sent."""
    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/slots", timeout=10) as reply:
        data: list[dict[str, Any]] = json.loads(reply.read())
    return data


def last_task(base_url: str) -> int:
    """The highest task id the server has started (-1 before the first request)."""
    return max((int(s.get("id_task", -1)) for s in slots(base_url)), default=-1)
