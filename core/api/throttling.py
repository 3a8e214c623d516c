"""DRF's rate throttles, failing open when the cache (Redis) is unreachable.

A throttle that raises turns every request into a 500; an outage of the counter store should
cost rate limiting for its duration, not the API. The failure is logged.

The scoped throttles (login, registration, token refresh, password change, applying, posting
jobs) are the abuse limits, so they also hold against parallel requests; see
`_OneDecisionAtATime`.

Every throttle that counted a request leaves its quota on it, and `RateLimitHeadersMiddleware`
answers them as the IETF draft's fields (draft-ietf-httpapi-ratelimit-headers):
`RateLimit-Policy: "login";q=5;w=60` (quota, window in seconds) and `RateLimit: "login";r=4;t=60`
(requests remaining, seconds until the window frees one), one item per throttle, on DRF's path
and the listing's fast path alike. A 429 also has `Retry-After` (`core.api.exceptions`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from rest_framework import throttling

from core.circuit_breakers import CircuitOpen, circuit_breaker

logger = logging.getLogger(__name__)


RETRY_AFTER_SECONDS = 5.0
# After a failure of the counter store, throttles pass requests without asking it for a while.
throttle_circuit = circuit_breaker("throttles", open_seconds=RETRY_AFTER_SECONDS)


# The attribute of the Django request holding the `Quota` of each throttle that counted it.
QUOTAS_ATTRIBUTE = "rate_limit_quotas"


@dataclass(frozen=True)
class Quota:
    """One throttle's limit as a client sees it after this request."""

    policy: str  # the throttle's scope: anon, user, login, ...
    limit: int
    window_seconds: int
    remaining: int
    reset_seconds: int


def _note_quota(throttle: throttling.SimpleRateThrottle, request) -> None:
    if getattr(throttle, "key", None) is None or not hasattr(throttle, "history"):
        return  # not counted (no rate, no key: another throttle's client)
    history = throttle.history
    oldest = history[-1] if history else throttle.now
    quota = Quota(
        policy=throttle.scope,
        limit=throttle.num_requests,
        window_seconds=throttle.duration,
        remaining=max(0, throttle.num_requests - len(history)),
        reset_seconds=max(1, math.ceil(throttle.duration - (throttle.now - oldest))),
    )
    django_request = getattr(request, "_request", request)
    quotas = getattr(django_request, QUOTAS_ATTRIBUTE, None)
    if quotas is None:
        quotas = []
        setattr(django_request, QUOTAS_ATTRIBUTE, quotas)
    quotas.append(quota)


class RateLimitHeadersMiddleware:
    """`RateLimit-Policy` and `RateLimit` on every response whose request a throttle counted."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        quotas = getattr(request, QUOTAS_ATTRIBUTE, None)
        if quotas:
            response["RateLimit-Policy"] = ", ".join(
                f'"{q.policy}";q={q.limit};w={q.window_seconds}' for q in quotas
            )
            response["RateLimit"] = ", ".join(
                f'"{q.policy}";r={q.remaining};t={q.reset_seconds}' for q in quotas
            )
        return response


class _FailOpen:
    def allow_request(self, request, view) -> bool:
        try:
            allowed = throttle_circuit.call(super().allow_request, request, view)
        except CircuitOpen:
            return True  # the cache failed moments ago: do not wait on it for every request
        except Exception as exc:
            logger.warning(
                "throttling skipped, cache unavailable (%s: %s)", type(exc).__name__, exc
            )
            return True
        _note_quota(self, request)
        return allowed


class _OneDecisionAtATime(throttling.SimpleRateThrottle):
    """Decide one request of a client at a time, under a short lock in the cache.

    DRF reads a client's history, decides and writes the history back. Parallel requests of one
    client (on several gunicorn workers or threads) all read the same history and all pass:
    measured, a burst of 15 logins got 8 to 12 attempts through a limit of 5. The lock is
    `cache.add`, atomic in Redis; the decision it guards takes two cache round trips.
    """

    lock_seconds = 5  # far longer than a decision; bounds how long a crashed holder blocks
    wait_seconds = 2.0
    poll_seconds = 0.003

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        lock = f"{key}:lock"
        deadline = time.monotonic() + self.wait_seconds
        while not self.cache.add(lock, 1, self.lock_seconds):
            if time.monotonic() > deadline:
                # That many requests of one client in flight at once is itself abuse; the
                # history is read only to tell the client when to come back.
                self.history, self.now = self.cache.get(key, []), self.timer()
                return self.throttle_failure()
            time.sleep(self.poll_seconds)
        try:
            return super().allow_request(request, view)
        finally:
            self.cache.delete(lock)


class AnonRateThrottle(_FailOpen, throttling.AnonRateThrottle):
    """The general per-address rate. Not serialized: it runs on every request, including the
    cached listing, and a burst slightly over a generous rate harms nobody."""


class UserRateThrottle(_FailOpen, throttling.UserRateThrottle):
    """The general per-user rate; not serialized, like `AnonRateThrottle`."""


class ScopedRateThrottle(_FailOpen, throttling.ScopedRateThrottle, _OneDecisionAtATime):
    """The per-view abuse limits (`throttle_scope`), one decision per client at a time."""
