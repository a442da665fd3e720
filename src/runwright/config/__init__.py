"""``runwright.toml``: the project configuration (providers, model aliases, prices, budgets).

Read once at the entry point (:meth:`runwright.settings.Settings.from_env`) and passed
down; nothing below the entry point reads the file or the environment.
"""

from runwright.config.loader import (
    CONFIG_ENV,
    CONFIG_NAME,
    LoadedConfig,
    find_config,
    load_config,
    parse_config,
)
from runwright.config.models import (
    BUILTIN_PROVIDERS,
    Budgets,
    ModelAlias,
    Price,
    ProjectConfig,
    ProviderConfig,
)

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
