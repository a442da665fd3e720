"""Each run's project configuration: the runwright.toml of its own pipeline.

A worker (or ``resume``, or ``approve``) may run in any directory and serve runs of
several pipelines; each run uses the configuration found from its pipeline's
directory, exactly as ``runwright run`` found it, unless ``--config`` or
``RUNWRIGHT_CONFIG`` names one file for everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from runwright.redaction import Redactor
from runwright.settings import Settings
from runwright.store.records import RunRecord

if TYPE_CHECKING:
    from runwright.config import LoadedConfig

#: How a config file was chosen when it applies whatever the pipeline.
_EXPLICIT = ("--config", "env RUNWRIGHT_CONFIG")


class RunConfigs:
    """Finds (once per directory) and keeps the configuration of each run's pipeline."""

    def __init__(self, settings: Settings, redactor: Redactor) -> None:
        self._settings = settings
        self._redactor = redactor
        self._by_dir: dict[Path, tuple[LoadedConfig | None, Redactor]] = {}

    def for_run(self, run: RunRecord) -> tuple[LoadedConfig | None, Redactor]:
        """The run's configuration, and the redactor that also masks its providers' keys."""
        loaded = self._settings.config
        if run.spec_path is None or (loaded is not None and loaded.found_by in _EXPLICIT):
            return loaded, self._redactor
        directory = Path(run.spec_path).parent
        known = self._by_dir.get(directory)
        if known is None:
            from runwright.config import find_config

            path, how = find_config(start=directory, env=self._settings.env)
            if path is None and loaded is None:
                known = (None, self._redactor)  # built-in providers only, as the settings
            elif loaded is not None and path == loaded.path:
                known = (loaded, self._redactor)
            else:
                # Imported here: config models stay off the start-up path of most runs.
                from runwright.config import load_config

                own = load_config(path, found_by=how)
                names = (*self._settings.secret_names, *own.config.api_key_envs())
                known = (own, Redactor.from_env(self._settings.env, tuple(dict.fromkeys(names))))
            self._by_dir[directory] = known
        return known
