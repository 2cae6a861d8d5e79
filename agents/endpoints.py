"""Endpoint health: a preflight before any file is written, pools of endpoints with their failures,
and the retry policy (tenacity; the SDK's own retries are off, stacking them multiplies attempts and
hides ``Retry-After``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

import openai
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from agents.specs import LOCAL, SpecError, parse_spec, redact
from agents.urls import parse_url, public_url, url_secrets

# an endpoint that answers these will answer every request the same way: stop, do not retry
REFUSED = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)


def refused(exc: BaseException) -> bool:
    """401, 403 or 404 from an endpoint: a wrong key, a forbidden model, a wrong URL or model name."""
    return isinstance(exc, REFUSED)


def _models_request(url: str, key: str):
    """``GET URL/models`` with the key, or with the URL's own credentials when it has some."""
    import urllib.parse
    import urllib.request

    parsed = parse_url(url.rstrip("/"))
    query = f"?{urllib.parse.urlencode(parsed.query)}" if parsed.query else ""
    return urllib.request.Request(
        f"{parsed.base}/models{query}", headers={"Authorization": f"Bearer {key}", **parsed.headers}
    )


def preflight(specs: list[str], timeout_s: float = 10.0) -> list[str]:
    """Check every distinct model before a run writes anything: local paths exist, keys are present,
    and each endpoint answers ``GET /models`` (one request each). Raises ``SpecError`` (one line) for
    what stops the run; returns warnings (a pool member that cannot be reached, while others can)."""
    import urllib.error
    import urllib.request

    warnings: list[str] = []
    for spec in dict.fromkeys(specs):
        parsed = parse_spec(spec)
        if parsed.kind == "local":
            if parsed.model != LOCAL and not os.path.exists(os.path.expanduser(parsed.model)):
                raise SpecError(f"{parsed}: local model not found: {parsed.model}")
            continue
        if parsed.kind == "openai":
            if not os.environ.get("OPENAI_API_KEY"):
                raise SpecError(f"{parsed} needs OPENAI_API_KEY in the environment")
            urls = (os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",)
            key = os.environ["OPENAI_API_KEY"]
        else:
            urls = parsed.base_urls
            key = os.environ.get("O1J_ENDPOINT_API_KEY") or "EMPTY"
        reached, unreachable = 0, []
        for url in urls:
            request = _models_request(url, key)
            try:
                with urllib.request.urlopen(request, timeout=timeout_s):
                    reached += 1
            except urllib.error.HTTPError as e:
                if e.code in (401, 403):
                    raise SpecError(f"{public_url(url)} refused the key (HTTP {e.code}): check the API key") from None
                if e.code == 404:
                    raise SpecError(
                        f"{public_url(url)}: GET /models answered HTTP 404: is the base URL right (it ends in /v1)?"
                    ) from None
                reached += 1  # it answers; other statuses are for the retries to handle
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                unreachable.append(f"cannot reach {public_url(url)}: {redact(str(reason), (key, *url_secrets(url)))}")
        if not reached:
            raise SpecError(unreachable[0])
        warnings += unreachable  # a pool member that is down now; the pool routes around it
    return warnings


# requests in flight per endpoint of a pool; a pool spreads the load over its endpoints
ENDPOINT_CONCURRENCY = 64


@dataclass
class Endpoint:
    url: str
    chat: Any
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(ENDPOINT_CONCURRENCY))
    failures: int = 0  # consecutive
    outages: int = 0
    out_until: float = 0.0


@dataclass
class EndpointPool:
    """Several base URLs of one model: round robin over those in rotation, each with its own
    concurrency limit. An endpoint that fails ``max_failures`` times in a row leaves the rotation
    for a cooldown that doubles with each outage; the first call after it is a retry, and a
    success puts the endpoint back."""

    endpoints: list[Endpoint]
    max_failures: int = 3
    cooldown_s: float = 15.0
    max_cooldown_s: float = 300.0
    _next: int = 0

    def pick(self) -> Endpoint:
        now = time.monotonic()
        n = len(self.endpoints)
        for i in range(n):
            endpoint = self.endpoints[(self._next + i) % n]
            if endpoint.out_until <= now:
                self._next = (self._next + i + 1) % n
                return endpoint
        return min(self.endpoints, key=lambda e: e.out_until)  # all out: the one back soonest

    def succeeded(self, endpoint: Endpoint) -> None:
        endpoint.failures = endpoint.outages = 0
        endpoint.out_until = 0.0

    def failed(self, endpoint: Endpoint) -> None:
        endpoint.failures += 1
        if endpoint.failures >= self.max_failures:
            endpoint.out_until = time.monotonic() + min(self.cooldown_s * 2**endpoint.outages, self.max_cooldown_s)
            endpoint.outages += 1
            endpoint.failures = 0


_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def retryable(exc: BaseException) -> bool:
    """429, 5xx, timeouts and dropped connections are retried; 400/401/404 are the caller's bug."""
    if isinstance(exc, openai.APIConnectionError | openai.APITimeoutError):  # timeout subclasses connection
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in _RETRY_STATUS or exc.status_code >= 500
    return False


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return min(float(value), 120.0)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial_s: float = 0.5
    max_s: float = 30.0


DEFAULT_RETRY = RetryPolicy()


def _wait(policy: RetryPolicy):
    backoff = wait_exponential_jitter(multiplier=policy.initial_s, max=policy.max_s)

    def wait(state) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = _retry_after(exc) if exc else None
        return max(hinted or 0.0, backoff(state))

    return wait


def retrying(retry: RetryPolicy = RetryPolicy()) -> AsyncRetrying:
    """The retry loop of every call to an endpoint: retryable errors only, backoff honouring Retry-After."""
    return AsyncRetrying(
        stop=stop_after_attempt(retry.attempts), wait=_wait(retry), retry=retry_if_exception(retryable), reraise=True
    )
