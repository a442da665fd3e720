"""Which ``runwright.toml`` applies: found without importing the config models.

Most runs have no config file; finding that out must not cost the ~15 ms of building
the pydantic models that validate one (:mod:`runwright.config.models`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from runwright.errors import ConfigError

CONFIG_NAME = "runwright.toml"
#: Environment variable naming the config file (overridden by ``--config``).
CONFIG_ENV = "RUNWRIGHT_CONFIG"


def find_config(
    *, start: Path, explicit: Path | None = None, env: Mapping[str, str]
) -> tuple[Path | None, str]:
    """The config file to read and how it was chosen: --config > RUNWRIGHT_CONFIG > search.

    The search looks for ``runwright.toml`` in ``start`` (the pipeline's directory, or
    the working directory) and then in each parent. A named file that does not exist
    is an error; finding none by search is not.
    """
    for named, how in ((explicit, "--config"), (env.get(CONFIG_ENV) or None, f"env {CONFIG_ENV}")):
        if named is not None:
            path = Path(named).expanduser()
            if not path.is_file():
                raise ConfigError(
                    f"the config file {path} (from {how}) does not exist; "
                    f"create it or point {how} at an existing {CONFIG_NAME}"
                )
            return path.resolve(), how
    here = start.resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate, f"found in {directory}"
    return None, "none"
