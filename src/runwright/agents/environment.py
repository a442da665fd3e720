"""The environment an agent gets: an allowlist, plus what the step declares.

Nothing else of runwright's environment leaks in (no database URL, no provider
keys the step did not ask for). Declared names take their values from the run's
environment; those whose names look secret are masked in every log, event and
output like any other secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runwright.errors import FatalStepError

#: Variables every agent gets from the run's environment when they are set.
ALLOWED: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TERM",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    # Where the agent CLIs keep their own state (sessions, settings): not secrets.
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
)


def agent_env(
    base: Mapping[str, str], declared: Any, *, extra: Mapping[str, str], where: str
) -> dict[str, str]:
    """The allowlisted part of ``base``, ``declared`` (names or ``{name: value}``), ``extra``."""
    env = {k: base[k] for k in ALLOWED if k in base}
    for name, value in _declared(base, declared, where=where).items():
        env[name] = value
    env.update(extra)
    return env


def _declared(base: Mapping[str, str], declared: Any, *, where: str) -> dict[str, str]:
    if declared is None:
        return {}
    out: dict[str, str] = {}
    if isinstance(declared, str):
        declared = [declared]
    if isinstance(declared, list):
        for name in declared:
            if not isinstance(name, str):
                raise FatalStepError(f"{where}: with.env must list variable names (strings)")
            if name not in base:
                raise FatalStepError(
                    f"{where}: with.env names {name}, which is not set in the environment "
                    f"of runwright; export {name} before the run, or give it a value "
                    f"({name}: value)"
                )
            out[name] = base[name]
        return out
    if isinstance(declared, Mapping):
        for name, value in declared.items():
            if value is None and str(name) in base:
                out[str(name)] = base[str(name)]
            elif not isinstance(value, str):
                raise FatalStepError(
                    f"{where}: with.env.{name} must be a string; quote it in the YAML"
                )
            else:
                out[str(name)] = value
        return out
    raise FatalStepError(f"{where}: with.env must be a list of names or a mapping")
