"""``base_url = "local"``: point an agent at runwright's own llama.cpp server.

An agent CLI that talks to any OpenAI-compatible server (aider) can then run on the
local model with no service to start by hand: the server is the ``local`` provider's
(started once per process, stopped with it), serving the preset's model by name
(``openai/smollm2`` means the provider's ``smollm2``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from runwright.config.models import ProjectConfig
from runwright.errors import FatalStepError, RunwrightError

#: ``base_url`` values that mean "the local provider's server" (``local:NAME``: provider NAME).
LOCAL = "local"
DEFAULT_MODEL = "smollm2"


async def resolve_local(preset: Any, config: ProjectConfig | None, *, where: str) -> Any:
    """``preset`` with ``base_url = "local[:PROVIDER]"`` replaced by that server's URL."""
    base_url = getattr(preset, "base_url", None)
    if not isinstance(base_url, str) or not (base_url == LOCAL or base_url.startswith("local:")):
        return preset
    from runwright.config import LoadedConfig
    from runwright.providers.llamacpp import server_url
    from runwright.providers.local import (
        DEFAULT_CONTEXT_TOKENS,
        DEFAULT_THREADS,
        PARALLEL,
        locate_model,
        xllamacpp_installed,
    )

    provider = base_url.partition(":")[2] or LOCAL
    providers = (config or LoadedConfig.empty().config).providers
    cfg = providers.get(provider)
    if cfg is None or cfg.type != "local":
        raise FatalStepError(f"{where}: base_url = {base_url!r} names no local provider")
    model = str(getattr(preset, "model", None) or DEFAULT_MODEL).rpartition("/")[2]
    try:
        path = locate_model(provider, model, cfg)
    except RunwrightError as exc:
        raise FatalStepError(f"{where}: {exc.message}") from exc
    if not xllamacpp_installed():
        raise FatalStepError(
            f"{where}: base_url = 'local' runs the model with llama.cpp (the package "
            "xllamacpp), which is not installed: pip install 'runwright[local]'"
        )
    url = await asyncio.to_thread(
        server_url,
        path,
        provider=provider,
        threads=cfg.threads or DEFAULT_THREADS,
        context_tokens=cfg.context_tokens or DEFAULT_CONTEXT_TOKENS,
        parallel=PARALLEL,
        timeout=600.0,
    )
    return dataclasses.replace(preset, base_url=url)
