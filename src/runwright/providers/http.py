"""One JSON POST to a provider, with every failure classified and the key scrubbed.

Shared by the HTTP providers so that timeouts, status codes, ``Retry-After``
and key scrubbing are handled in one place. httpx is imported lazily by the
caller (provider construction), never at CLI start-up.
"""

from __future__ import annotations

import email.utils
import functools
import json
import re
import ssl
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runwright.providers.errors import (
    AuthenticationFailed,
    BadRequest,
    MalformedReply,
    ProviderError,
    ProviderFatal,
    ProviderTimeout,
    ProviderUnavailable,
    ProviderUnreachable,
    RateLimited,
)

if TYPE_CHECKING:
    import httpx

#: Longest part of a provider's error body quoted in a message.
BODY_QUOTE = 500
#: Shapes of credentials a provider might echo back (OpenAI quotes part of a bad key).
_KEYISH = re.compile(r"(sk-[A-Za-z0-9*_.\-]{3,}|Bearer\s+\S+|x-api-key:\s*\S+)", re.I)


class Scrubber:
    """Removes the API key (and anything shaped like one) from text we keep."""

    __slots__ = ("_key",)

    def __init__(self, key: str | None) -> None:
        self._key = key or None

    def __call__(self, text: str) -> str:
        if self._key:
            text = text.replace(self._key, "***")
        return _KEYISH.sub("***", text)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now()
    return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer


def provider_message(body: bytes) -> str:
    """The human part of an error body (``error.message`` in both protocols), else the text."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:BODY_QUOTE]
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            kind = err.get("type")
            return f"{err['message']} ({kind})" if isinstance(kind, str) else err["message"]
        if isinstance(err, str):
            return err[:BODY_QUOTE]
    return text.strip()[:BODY_QUOTE]


def classify(
    status: int, headers: Mapping[str, str], body: bytes, *, provider: str, scrub: Scrubber
) -> ProviderError:
    """The error for a non-2xx reply, carrying the provider's own message."""
    said = scrub(provider_message(body))
    where = f"provider '{provider}' answered {status}"
    if status == 429:
        wait = parse_retry_after(headers.get("retry-after"))
        after = f"; it asks to retry after {wait:g}s" if wait is not None else ""
        return RateLimited(
            f"{where} (rate limited): {said}{after}",
            provider=provider,
            status=status,
            retry_after=wait,
        )
    if status in (401, 403):
        return AuthenticationFailed(
            f"{where}: {said}; check the key in the variable its api_key_env names",
            provider=provider,
            status=status,
        )
    if status in (400, 404, 409, 413, 422):
        return BadRequest(f"{where}: {said}", provider=provider, status=status)
    if status >= 500 or status == 408:
        return ProviderUnavailable(
            f"{where}: {said}",
            provider=provider,
            status=status,
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    return ProviderFatal(f"{where}: {said}", provider=provider, status=status)


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    *,
    headers: Mapping[str, str],
    provider: str,
    scrub: Scrubber,
    timeout: float,
) -> tuple[dict[str, Any], float]:
    """POST ``body``; the decoded JSON reply and the seconds it took."""
    import httpx

    started = time.perf_counter()
    try:
        reply = await client.post(url, json=body, headers=dict(headers))
        raw = reply.content
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(
            f"provider '{provider}' did not answer within {timeout:g}s ({type(exc).__name__}); "
            "raise `timeout` in its [providers] table or check the server",
            provider=provider,
        ) from None
    except httpx.TransportError as exc:
        raise ProviderUnreachable(
            f"provider '{provider}' at {url} cannot be reached: "
            f"{scrub(str(exc)) or type(exc).__name__}; check base_url and that the server runs",
            provider=provider,
        ) from None
    latency = time.perf_counter() - started
    if reply.status_code >= 300:
        raise classify(
            reply.status_code, reply.headers, raw, provider=provider, scrub=scrub
        ) from None
    try:
        data = json.loads(raw)
    except ValueError:
        raise MalformedReply(
            f"provider '{provider}' sent a reply that is not JSON: "
            f"{scrub(raw.decode('utf-8', errors='replace')[:200])!r}",
            provider=provider,
            status=reply.status_code,
        ) from None
    if not isinstance(data, dict):
        raise MalformedReply(
            f"provider '{provider}' sent JSON that is not an object", provider=provider
        )
    return data, latency


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle costs more than a loopback request; do it once per process.
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def make_client(timeout: float) -> httpx.AsyncClient:
    """An HTTP client with one timeout for connect, write, read and pool waits."""
    import httpx

    # No retries here: retrying (and falling back) is the router's job, visible in events.
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False, verify=_tls())
