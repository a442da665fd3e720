"""Provider failures, classified for retries.

    StepError
    └── ProviderError                 a provider call failed (carries the provider's message)
        ├── ProviderRetryable         worth trying again (or falling back)
        │   ├── ProviderTimeout       no complete reply within the timeout
        │   ├── ProviderUnreachable   connection refused, reset, DNS
        │   ├── ProviderUnavailable   5xx, overloaded
        │   ├── RateLimited           429, with the parsed Retry-After
        │   └── MalformedReply        a reply that is not the protocol's JSON
        └── ProviderFatal             retrying cannot fix it
            ├── AuthenticationFailed  401/403: the key is missing, wrong or not allowed
            └── BadRequest            400/404/422: the request itself is wrong
    FatalStepError
    └── RoutingFailed                 every candidate of a model failed or was passed over

Messages never hold the API key: every message passes through a scrubber that
knows the key, whatever the provider echoes back.
"""

from __future__ import annotations

from typing import Any

from runwright.errors import FatalStepError, StepError


class ProviderError(StepError):
    """An LLM provider call failed."""

    def __init__(
        self,
        message: str | None = None,
        *,
        provider: str,
        status: int | None = None,
        retry_after: float | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message, provider=provider, status=status, **fields)
        self.provider = provider
        self.status = status
        #: Seconds the provider asked us to wait (``Retry-After``), if it said.
        self.retry_after = retry_after


class ProviderRetryable(ProviderError):
    """The provider failed in a way that may pass if tried again."""

    retryable = True


class ProviderTimeout(ProviderRetryable):
    """The provider did not reply within the timeout; raise `timeout` in [providers.NAME]."""


class ProviderUnreachable(ProviderRetryable):
    """The provider cannot be reached; check base_url and that the server is running."""


class ProviderUnavailable(ProviderRetryable):
    """The provider answered with a server error (5xx) or said it is overloaded."""


class RateLimited(ProviderRetryable):
    """The provider rate-limited the request (429)."""


class MalformedReply(ProviderRetryable):
    """The provider's reply is not valid for its protocol."""


class ProviderFatal(ProviderError):
    """The provider refused the request; retrying cannot fix it."""

    retryable = False


class AuthenticationFailed(ProviderFatal):
    """The provider refused the key (401/403); check the variable api_key_env names."""


class BadRequest(ProviderFatal):
    """The provider rejected the request as invalid (400/404/422)."""


class RoutingFailed(FatalStepError):
    """No candidate of the model answered; each one's reason is in the message.

    Not retryable by the step: the router already retried each candidate and fell
    back through all of them, so a step-level retry would only multiply the calls.
    """
