"""The router against real loopback HTTP servers and a real database: order, retries, breakers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmserver import LLMServer, Reply
from runwright.config import parse_config
from runwright.errors import FatalStepError
from runwright.events import EventType, Level
from runwright.providers.base import Candidate, CompletionRequest, CompletionResponse, Message
from runwright.providers.errors import AuthenticationFailed, RoutingFailed
from runwright.providers.router import Router
from runwright.store import open_store
from runwright.store.base import Store

REQUEST = CompletionRequest(model="", messages=(Message("user", "hi"),))


@pytest.fixture
def a() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


@pytest.fixture
def b() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = open_store(db_url)
    try:
        yield s
    finally:
        await s.close()


def toml(a: LLMServer, b: LLMServer, *, a_extra: str = "", b_extra: str = "") -> str:
    return f"""
[providers.a]
type = "openai"
base_url = "{a.openai_url}"
timeout = 5
backoff = 0.01
max_backoff = 2
{a_extra}

[providers.b]
type = "anthropic"
base_url = "{b.url}"
timeout = 5
backoff = 0.01
{b_extra}

[models.m]
candidates = ["a:first", "b:second"]
"""


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[EventType, dict[str, Any]]] = []

    def __call__(self, type_: EventType, data: dict[str, Any], level: Level) -> None:
        self.events.append((type_, data))

    def of(self, kind: EventType) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t is kind]


def router(text: str, store: Store | None, tmp_path: Path, **kw: Any) -> tuple[Router, Recorder]:
    loaded = parse_config(text, path=tmp_path / "runwright.toml")
    rec = Recorder()
    return Router(loaded.config, env={}, store=store, emit=rec, **kw), rec


async def test_500s_are_retried_then_the_next_candidate_answers(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    r, rec = router(toml(a, b), store, tmp_path)
    a.script(*[Reply.error(500, "down")] * 3)
    routed = await r.complete("m", REQUEST)
    await r.aclose()
    assert routed.candidate.ref == "b:second"
    assert routed.response.text == "echo: hi"
    assert len(a.requests) == 3 and len(b.requests) == 1  # 1 try + max_retries 2, then b
    assert a.requests[0].body["model"] == "first" and b.requests[0].body["model"] == "second"
    [fallback] = rec.of(EventType.LLM_FALLBACK)
    assert fallback["provider"] == "a" and fallback["model"] == "first"
    assert fallback["reason"] == "failed" and fallback["next"] == "b:second"
    assert "answered 500: down" in fallback["detail"] and fallback["tries"] == 3
    assert [d["try"] for d in rec.of(EventType.LLM_REQUEST)] == [1, 2, 3, 1]


async def test_retry_after_is_honoured_between_tries(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    r, _ = router(toml(a, b), store, tmp_path)
    a.script(Reply.error(429, "slow down", Retry_After="1"))
    routed = await r.complete("m", REQUEST)
    await r.aclose()
    assert routed.candidate.ref == "a:first" and len(a.requests) == 2 and not b.requests
    # Measured by the server: the retry came no sooner than Retry-After asked.
    assert a.requests[1].at - a.requests[0].at >= 1.0


async def test_a_retry_after_longer_than_max_backoff_falls_back_at_once(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    r, rec = router(toml(a, b), store, tmp_path)
    a.script(Reply.error(429, "come back in an hour", Retry_After="3600"))
    routed = await r.complete("m", REQUEST)
    await r.aclose()
    assert routed.candidate.ref == "b:second" and len(a.requests) == 1
    assert "retry after 3600s" in rec.of(EventType.LLM_FALLBACK)[0]["detail"]


async def test_a_timeout_falls_back(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    text = toml(a, b).replace(
        "timeout = 5\nbackoff = 0.01\nmax_backoff = 2", "timeout = 0.3\nmax_retries = 0"
    )
    r, rec = router(text, store, tmp_path)
    a.script(Reply.slow(3))
    routed = await r.complete("m", REQUEST)
    await r.aclose()
    assert routed.candidate.ref == "b:second"
    assert len(a.requests) == 1 and len(b.requests) == 1
    assert "did not answer within 0.3s" in rec.of(EventType.LLM_FALLBACK)[0]["detail"]


async def test_401_fails_at_once_without_fallback(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    r, rec = router(toml(a, b), store, tmp_path)
    a.script(Reply.error(401, "invalid api key"))
    with pytest.raises(AuthenticationFailed, match="answered 401: invalid api key"):
        await r.complete("m", REQUEST)
    await r.aclose()
    assert len(a.requests) == 1 and not b.requests
    assert rec.of(EventType.LLM_FALLBACK) == []


async def test_every_candidate_failing_is_one_final_error_naming_each(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    text = toml(a, b, a_extra="max_retries = 0", b_extra="max_retries = 0")
    r, _ = router(text, store, tmp_path)
    a.script(Reply.error(503, "a is down"))
    b.script(Reply.error(500, "b is down"))
    with pytest.raises(RoutingFailed) as caught:
        await r.complete("m", REQUEST)
    await r.aclose()
    assert isinstance(caught.value, FatalStepError) and not caught.value.retryable
    message = str(caught.value)
    assert "1. a:first: failed after 1 call(s)" in message and "a is down" in message
    assert "2. b:second: failed after 1 call(s)" in message and "b is down" in message


async def test_a_missing_key_is_passed_over_without_a_request(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    r, rec = router(toml(a, b, a_extra='api_key_env = "A_KEY_NOT_SET"'), store, tmp_path)
    routed = await r.complete("m", REQUEST)
    await r.aclose()
    assert routed.candidate.ref == "b:second" and not a.requests
    [fallback] = rec.of(EventType.LLM_FALLBACK)
    assert fallback["reason"] == "key_missing" and "A_KEY_NOT_SET is not set" in fallback["detail"]


async def test_the_breaker_opens_after_threshold_failures_then_is_skipped_with_no_request(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    text = toml(a, b, a_extra="max_retries = 0\nbreaker_threshold = 2\nbreaker_cooldown = 60")
    r, _ = router(text, store, tmp_path)
    a.script(Reply.error(500), Reply.error(500))
    for _ in range(2):
        assert (await r.complete("m", REQUEST)).candidate.ref == "b:second"
    assert len(a.requests) == 2
    # Open now: a later call (another router, as another step would have) skips it.
    r2, rec2 = router(text, store, tmp_path)
    assert (await r2.complete("m", REQUEST)).candidate.ref == "b:second"
    await r.aclose()
    await r2.aclose()
    assert len(a.requests) == 2  # zero requests to an open breaker
    [skip] = rec2.of(EventType.LLM_FALLBACK)
    assert skip["reason"] == "breaker_open" and skip["tries"] == 0
    assert "open after 2 consecutive failure(s)" in skip["detail"] and skip["until"] > 0


async def test_half_open_lets_one_probe_through_and_recovers(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    now = [1000.0]
    from runwright.providers.breaker import Breakers

    text = toml(a, b, a_extra="max_retries = 0\nbreaker_threshold = 1\nbreaker_cooldown = 30")
    breakers = Breakers(store, clock=lambda: now[0])
    r, _ = router(text, store, tmp_path, breakers=breakers)
    a.script(Reply.error(500))
    assert (await r.complete("m", REQUEST)).candidate.ref == "b:second"
    now[0] += 10  # still cooling down
    assert (await r.complete("m", REQUEST)).candidate.ref == "b:second"
    assert len(a.requests) == 1
    now[0] += 25  # cooled down: one probe, and it succeeds
    c = r.candidates("m")[0]
    first = await breakers.admit(c)
    second = await breakers.admit(c)
    assert first.allowed and first.probe and not second.allowed  # exactly one prober
    assert "another caller is probing" in second.reason
    await breakers.release_probe(c)
    assert (await r.complete("m", REQUEST)).candidate.ref == "a:first"
    assert len(a.requests) == 2
    assert (await breakers.peek([c.endpoint]))[c.endpoint].state == "closed"
    assert (await r.complete("m", REQUEST)).candidate.ref == "a:first"
    await r.aclose()


async def test_a_failed_probe_reopens_the_breaker(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    now = [1000.0]
    from runwright.providers.breaker import Breakers

    text = toml(a, b, a_extra="max_retries = 3\nbreaker_threshold = 1\nbreaker_cooldown = 30")
    breakers = Breakers(store, clock=lambda: now[0])
    r, _ = router(text, store, tmp_path, breakers=breakers)
    a.script(Reply.error(500), Reply.error(500))
    await r.complete("m", REQUEST)
    assert len(a.requests) == 1  # opened at once: no retries into an open breaker
    now[0] += 31
    assert (await r.complete("m", REQUEST)).candidate.ref == "b:second"
    assert len(a.requests) == 2  # the probe failed; the breaker is open again
    c = r.candidates("m")[0]
    record = (await breakers.peek([c.endpoint]))[c.endpoint]
    assert record.state == "open" and record.open_until == now[0] + 30
    await r.aclose()


class Refuse(Exception):
    pass


async def test_the_guard_wraps_every_call_and_its_refusal_stops_routing(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    seen: list[str] = []

    async def counting(c: Candidate, req: CompletionRequest, call: Any) -> CompletionResponse:
        seen.append(f"{c.ref}:{req.model}")
        result: CompletionResponse = await call()
        return result

    r, _ = router(toml(a, b, a_extra="max_retries = 1"), store, tmp_path)
    a.script(Reply.error(500), Reply.error(500))
    await r.complete("m", REQUEST, guard=counting)
    assert seen == ["a:first:first", "a:first:first", "b:second:second"]  # each try, each fallback

    async def refusing(c: Candidate, req: CompletionRequest, call: Any) -> CompletionResponse:
        raise Refuse("over budget")

    before = len(a.requests) + len(b.requests)
    with pytest.raises(Refuse):
        await r.complete("m", REQUEST, guard=refusing)
    await r.aclose()
    assert len(a.requests) + len(b.requests) == before  # no fallback to spend elsewhere


async def test_rpm_passes_an_exhausted_candidate_over_to_the_next(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    from runwright.providers.limits import Limits

    now = [60_000.0]  # one fixed minute, then the next
    limits = Limits(store, clock=lambda: now[0])
    r, rec = router(toml(a, b, a_extra="rpm = 2"), store, tmp_path, limits=limits)
    refs = [(await r.complete("m", REQUEST)).candidate.ref for _ in range(3)]
    assert refs == ["a:first", "a:first", "b:second"]
    [skip] = rec.of(EventType.LLM_FALLBACK)
    assert skip["reason"] == "rate_limited" and skip["detail"] == "2/2 requests this minute"
    assert skip["until"] == 60_060.0 and len(a.requests) == 2
    now[0] += 60
    assert (await r.complete("m", REQUEST)).candidate.ref == "a:first"
    await r.aclose()


async def test_tpm_counts_the_tokens_replies_used(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    from runwright.providers.limits import Limits

    limits = Limits(store, clock=lambda: 60_000.0)
    r, rec = router(toml(a, b, a_extra="tpm = 30"), store, tmp_path, limits=limits)
    # The loopback server reports 11 + 7 = 18 tokens per reply: the second reaches 36.
    refs = [(await r.complete("m", REQUEST)).candidate.ref for _ in range(3)]
    await r.aclose()
    assert refs == ["a:first", "a:first", "b:second"]
    assert rec.of(EventType.LLM_FALLBACK)[0]["detail"] == "36/30 tokens this minute"


async def test_concurrency_holds_calls_to_one_endpoint_in_flight_per_process(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    import asyncio

    r, _ = router(toml(a, b, a_extra="concurrency = 1"), store, tmp_path)
    a.script(Reply.slow(0.5, "one"), Reply.slow(0.5, "two"), Reply.slow(0.5, "three"))
    routed = await asyncio.gather(*(r.complete("m", REQUEST) for _ in range(3)))
    await r.aclose()
    assert sorted(x.response.text for x in routed) == ["one", "three", "two"]
    # Measured by the server: each request arrived only after the previous reply.
    gaps = [y.at - x.at for x, y in zip(a.requests, a.requests[1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= 0.5


async def test_when_every_candidate_is_only_rate_limited_the_call_waits_for_the_window(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    from runwright.providers.limits import Limits

    now = [60_000.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds  # the next window opens

    limits = Limits(store, clock=lambda: now[0])
    text = toml(a, b, a_extra="rpm = 1", b_extra="rpm = 1")
    r, rec = router(text, store, tmp_path, limits=limits, sleep=sleep)
    for _ in range(2):
        await r.complete("m", REQUEST)
    routed = await r.complete("m", REQUEST)  # a and b both used their minute
    await r.aclose()
    assert routed.candidate.ref == "a:first" and len(a.requests) == 2
    assert len(slept) == 1 and 60.0 <= slept[0] <= 60.25
    assert [d["reason"] for d in rec.of(EventType.LLM_FALLBACK)] == [
        "rate_limited",  # 2nd call: a full, b answers
        "rate_limited",  # 3rd call: a full ...
        "rate_limited",  # ... and b full: wait for the next minute
    ]


async def test_explain_names_a_full_window_and_a_probe_in_flight(
    a: LLMServer, b: LLMServer, store: Store, tmp_path: Path
) -> None:
    from runwright.api.explain import explain_candidates
    from runwright.store.records import BreakerRecord

    r, _ = router(toml(a, b, a_extra="rpm = 1"), store, tmp_path)
    first, second = r.candidates("m")
    now = 60_000.0
    async with store.transaction() as tx:
        await tx.add_to_rate_window(first.endpoint, 1000, requests=1)
        await tx.put_breaker(
            BreakerRecord(second.endpoint, "half_open", 5, now - 1, now + 9, "x", now)
        )

    async def budget(c: Candidate) -> str | None:
        return None

    view = await explain_candidates(
        "m", [first, second], env={}, base_dir=tmp_path, store=store, budget=budget, now=now
    )
    assert view.chosen is None
    assert "no candidate can be used now" in view.why
    [limited] = view.candidates[0].reasons
    assert limited.code == "rate_limited" and "1/1 requests this minute" in limited.detail
    [probing] = view.candidates[1].reasons
    assert probing.code == "probing" and probing.until == now + 9
    assert not a.requests and not b.requests
