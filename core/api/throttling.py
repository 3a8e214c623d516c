"""DRF's rate throttles, failing open when the cache (Redis) is unreachable.

A throttle that raises turns every request into a 500; an outage of the counter store should
cost rate limiting for its duration, not the API. The failure is logged.
"""

from __future__ import annotations

import logging
import time

from rest_framework import throttling

logger = logging.getLogger(__name__)


RETRY_AFTER_SECONDS = 5.0
_down_until = 0.0


class _FailOpen:
    def allow_request(self, request, view) -> bool:
        global _down_until
        if time.monotonic() < _down_until:
            return True  # the cache failed moments ago: do not wait on it for every request
        try:
            return super().allow_request(request, view)
        except Exception as exc:
            _down_until = time.monotonic() + RETRY_AFTER_SECONDS
            logger.warning(
                "throttling skipped, cache unavailable (%s: %s)", type(exc).__name__, exc
            )
            return True


class AnonRateThrottle(_FailOpen, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_FailOpen, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_FailOpen, throttling.ScopedRateThrottle):
    pass
