"""constraints/lowest.txt pins exactly the lower bounds pyproject.toml declares.

Runtime dependencies: the default install plus the `postgres`, `llm` and `local` extras.

scripts/test installs those pins in a second venv and runs the suite there; if the two
files drift apart, that run would test versions nobody promised.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lower_bounds() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    requirements = [*project["dependencies"], *extras["postgres"], *extras["llm"]]
    requirements += extras["local"]
    bounds = {}
    for requirement in requirements:
        found = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?>=([0-9][0-9A-Za-z.]*)", requirement)
        assert found, f"{requirement!r}: every runtime dependency needs a >= lower bound"
        bounds[found.group(1).lower()] = found.group(2)
    return bounds


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints" / "lowest.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_lowest_constraints_pin_every_lower_bound() -> None:
    bounds, pins = _lower_bounds(), _pins()
    assert set(bounds) == set(pins)
    for name, version in bounds.items():
        # A bound like "2.6" pins as "2.6.0" (or "2.6"): the same release.
        assert pins[name].removesuffix(".0") == version.removesuffix(".0"), name
