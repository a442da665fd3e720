"""The governance seam: what the engine asks before a step acts.

The engine knows only this protocol; :mod:`runwright.governance` implements it and
the API wires it into the run context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one step: allowed, refused, or to be asked of a person."""

    allowed: bool
    #: When not allowed: park the step for a person's approval instead of failing it.
    ask: bool = False
    #: What was refused and how to allow it (shown to users; the error when refused).
    message: str = ""
    #: The decision as recorded in the ``governance.decision`` event.
    data: dict[str, Any] = field(default_factory=dict)


class Governor(Protocol):
    """Decides whether a step may use the capabilities its kind says it would use."""

    async def check(self, step_id: str, kind: str, capabilities: frozenset[str]) -> Verdict: ...

    def spend_limit(self, step_id: str) -> tuple[float, str] | None:
        """USD one run may spend at the step's level, and where that limit comes from."""
        ...
