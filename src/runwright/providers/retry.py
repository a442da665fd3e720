"""How long to wait before trying a provider again: exponential backoff, jitter, Retry-After.

A small value object built from ``[providers.NAME]`` (``max_retries``, ``backoff``,
``max_backoff``); the router asks it after every retryable failure. A server that asks
for a longer wait than ``max_backoff`` is not waited for: the router falls back instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from runwright.config.models import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_RETRIES,
    ProviderConfig,
)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retries of one candidate after a retryable failure, and the wait before each."""

    max_retries: int = DEFAULT_MAX_RETRIES
    #: Seconds before the first retry; doubled for each further one.
    backoff: float = DEFAULT_BACKOFF
    #: No single wait is longer; a Retry-After above it means "fall back now".
    max_backoff: float = DEFAULT_MAX_BACKOFF

    @classmethod
    def of(cls, config: ProviderConfig) -> Backoff:
        return cls(config.max_retries, config.backoff, config.max_backoff)

    def delay(
        self, failed_tries: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait after try number ``failed_tries`` (1-based) failed; None: give up.

        "Equal jitter" keeps at least half of the exponential delay and spreads the
        rest, so callers that failed together do not retry together. The server's
        ``Retry-After`` is a floor: we never come back sooner than it asked.
        """
        if failed_tries > self.max_retries:
            return None
        if retry_after is not None and retry_after > self.max_backoff:
            return None
        base = min(self.backoff * 2 ** (failed_tries - 1), self.max_backoff)
        jittered = base / 2 + (rng or random).uniform(0, base / 2) if base > 0 else 0.0
        return max(jittered, retry_after or 0.0)
