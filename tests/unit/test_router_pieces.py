"""The router's pieces alone: backoff, breaker decisions, limit decisions (pure functions)."""

from __future__ import annotations

import random

from runwright.config.models import ProviderConfig
from runwright.providers.base import Candidate
from runwright.providers.breaker import CLOSED, HALF_OPEN, OPEN, admit, after_failure, after_success
from runwright.providers.limits import check
from runwright.providers.retry import Backoff
from runwright.store.records import BreakerRecord, RateWindow


def test_backoff_doubles_with_equal_jitter_and_gives_up_after_max_retries() -> None:
    b = Backoff(max_retries=3, backoff=1.0, max_backoff=3.0)
    rng = random.Random(7)
    for tries, base in ((1, 1.0), (2, 2.0), (3, 3.0)):  # capped at max_backoff
        for _ in range(50):
            d = b.delay(tries, None, rng)
            assert d is not None and base / 2 <= d <= base
    assert b.delay(4, None, rng) is None


def test_retry_after_is_a_floor_and_one_beyond_max_backoff_means_fall_back() -> None:
    b = Backoff(max_retries=5, backoff=0.1, max_backoff=10.0)
    assert b.delay(1, 4.0) == 4.0
    assert b.delay(1, 10.5) is None
    assert Backoff(max_retries=0).delay(1, None) is None


def test_the_breaker_opens_at_the_threshold_and_counts_from_zero_after_success() -> None:
    b = None
    for n in range(1, 3):
        b = after_failure(b, "e", now=10.0, threshold=3, cooldown=30, error="boom")
        assert b.state == CLOSED and b.failures == n
    b = after_failure(b, "e", now=10.0, threshold=3, cooldown=30, error="x" * 1000)
    assert b.state == OPEN and b.open_until == 40.0 and len(b.last_error or "") == 300
    closed = after_success(b, now=50.0)
    assert closed is not None and closed.state == CLOSED and closed.failures == 0
    assert after_success(closed, now=51.0) is None  # nothing to write when healthy
    assert after_success(None, now=51.0) is None


def test_an_open_breaker_refuses_until_cooled_then_admits_exactly_one_probe() -> None:
    opened = BreakerRecord("e", OPEN, 3, 40.0, None, "boom", 10.0)
    refused, write = admit(opened, now=39.9, probe_for=5)
    assert not refused.allowed and refused.until == 40.0 and write is None
    probe, write = admit(opened, now=40.0, probe_for=5)
    assert probe.allowed and probe.probe and write is not None
    assert write.state == HALF_OPEN and write.probe_until == 45.0
    other, again = admit(write, now=41.0, probe_for=5)
    assert not other.allowed and again is None and "another caller" in other.reason
    # The prober died: once its lease passed, the next caller probes.
    late, taken = admit(write, now=45.5, probe_for=5)
    assert late.probe and taken is not None and taken.probe_until == 50.5
    failed = after_failure(taken, "e", now=46.0, threshold=3, cooldown=30, error="still")
    assert failed.state == OPEN and failed.open_until == 76.0


def test_limits_refuse_at_rpm_or_tpm_until_the_next_minute() -> None:
    cfg = ProviderConfig(type="openai", base_url="http://x/v1", rpm=2, tpm=100)
    c = Candidate("p", "m", cfg)
    assert check(None, c, now=120.5).allowed
    full = check(RateWindow(c.endpoint, 2, 2, 0), c, now=130.0)
    assert not full.allowed and full.until == 180.0 and full.reason == "2/2 requests this minute"
    spent = check(RateWindow(c.endpoint, 2, 1, 100), c, now=130.0)
    assert not spent.allowed and spent.reason == "100/100 tokens this minute"
