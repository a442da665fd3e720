"""``runwright.toml``: the project configuration (providers, model aliases, prices, budgets).

Read once at the entry point (:meth:`runwright.settings.Settings.from_env`) and passed
down; nothing below the entry point reads the file or the environment. The names
backed by pydantic models load on first use: a run without a config file never
builds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runwright.config.builtin import BUILTIN_PROVIDERS
from runwright.config.find import CONFIG_ENV, CONFIG_NAME, find_config

if TYPE_CHECKING:
    from runwright.config.loader import LoadedConfig, load_config, parse_config
    from runwright.config.models import Budgets, ModelAlias, Price, ProjectConfig, ProviderConfig

_FROM_LOADER = frozenset({"LoadedConfig", "load_config", "parse_config"})
_FROM_MODELS = frozenset({"Budgets", "ModelAlias", "Price", "ProjectConfig", "ProviderConfig"})


def __getattr__(name: str) -> Any:
    if name in _FROM_LOADER:
        from runwright.config import loader as module
    elif name in _FROM_MODELS:
        from runwright.config import models as module  # type: ignore[no-redef]
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "BUILTIN_PROVIDERS",
    "CONFIG_ENV",
    "CONFIG_NAME",
    "Budgets",
    "LoadedConfig",
    "ModelAlias",
    "Price",
    "ProjectConfig",
    "ProviderConfig",
    "find_config",
    "load_config",
    "parse_config",
]
